package io.flotilla.agent;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Rules that keep the code honest, checked on the compiled classes of every module. */
class ArchitectureTest {
  private static final JavaClasses CLASSES = importMainClasses();

  /** The compiled main classes of the agent and common modules only (scanning the whole classpath is slow). */
  private static JavaClasses importMainClasses() {
    java.util.List<com.tngtech.archunit.core.importer.Location> locations = new java.util.ArrayList<>();
    for (Class<?> anchor : new Class<?>[] {io.flotilla.agent.cli.Flotilla.class, io.flotilla.repo.Storage.class}) {
      try {
        java.nio.file.Path where = java.nio.file.Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
        locations.add(java.nio.file.Files.isDirectory(where) ? com.tngtech.archunit.core.importer.Location.of(where)
            : com.tngtech.archunit.core.importer.Location.of(new java.util.jar.JarFile(where.toFile())));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importLocations(locations);
  }

  @Test
  void shouldSeeTheClassesOfEveryModule() {
    org.assertj.core.api.Assertions.assertThat(CLASSES.contain("io.flotilla.repo.impl.S3Storage")).isTrue();
    org.assertj.core.api.Assertions.assertThat(CLASSES.contain("io.flotilla.agent.cli.Session")).isTrue();
    org.assertj.core.api.Assertions.assertThat(CLASSES.contain("io.flotilla.testkit.S3Server")).isFalse();
  }

  @Test
  void onlyTheS3BackendTalksToTheAwsSdk() {
    noClasses().that().resideOutsideOfPackage("io.flotilla.repo.impl")
        .should().dependOnClassesThat().resideInAnyPackage("software.amazon.awssdk..")
        .check(CLASSES);
  }

  @Test
  void onlyTheCommandLineSessionCreatesAVertxInstance() {
    noClasses().that().doNotHaveFullyQualifiedName("io.flotilla.agent.cli.Session")
        .should().callMethod(io.vertx.core.Vertx.class, "vertx")
        .orShould().callMethod(io.vertx.core.Vertx.class, "vertx", io.vertx.core.VertxOptions.class)
        .check(CLASSES);
  }

  @Test
  void noCodeSleepsOrBlocksOnFutures() {
    noClasses().should().callMethod(Thread.class, "sleep", long.class)
        .orShould().callMethod(java.util.concurrent.CompletableFuture.class, "get")
        .check(CLASSES);
  }

  @Test
  void commonDoesNotDependOnTheAgent() {
    noClasses().that().resideOutsideOfPackage("io.flotilla.agent..")
        .should().dependOnClassesThat().resideInAPackage("io.flotilla.agent..")
        .check(CLASSES);
  }
}
