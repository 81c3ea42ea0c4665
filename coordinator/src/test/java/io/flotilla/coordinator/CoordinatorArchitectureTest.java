package io.flotilla.coordinator;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Rules for the coordinator's own code: no blocking in what runs on event loops, no AWS SDK, one place that builds Vert.x. */
class CoordinatorArchitectureTest {
  private static final JavaClasses CLASSES = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("io.flotilla.coordinator");

  @Test
  void shouldSeeTheCoordinatorsClasses() {
    org.assertj.core.api.Assertions.assertThat(CLASSES.contain("io.flotilla.coordinator.schedule.Scheduler")).isTrue();
  }

  @Test
  void noCoordinatorCodeSleepsOrWaitsOnAFutureOutsideMain() {
    noClasses().that().resideOutsideOfPackage("io.flotilla.coordinator.cli")
        .and().resideOutsideOfPackage("io.flotilla.coordinator.bench")
        .should().callMethod(Thread.class, "sleep", long.class)
        .orShould().callMethod(io.vertx.core.Future.class, "await")
        .orShould().callMethod(java.util.concurrent.CompletableFuture.class, "get")
        .orShould().callMethod(java.util.concurrent.CompletableFuture.class, "join")
        .check(CLASSES);
  }

  @Test
  void onlyTheMemberAssemblyBuildsVertx() {
    noClasses().that().doNotHaveFullyQualifiedName("io.flotilla.coordinator.Coordinator")
        .and().resideOutsideOfPackage("io.flotilla.coordinator.bench")
        .should().callMethod(io.vertx.core.Vertx.class, "vertx")
        .orShould().callMethod(io.vertx.core.Vertx.class, "builder")
        .check(CLASSES);
  }

  @Test
  void theCoordinatorNeverTalksToTheAwsSdkDirectly() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage("software.amazon.awssdk..").check(CLASSES);
  }
}
