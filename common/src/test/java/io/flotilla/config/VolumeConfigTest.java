package io.flotilla.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code volumes:} block of agent.yaml: valid entries become records, a bad one fails naming its key. */
class VolumeConfigTest {
  private static final String BASE = """
      host: db1
      postgres:
        url: postgresql://postgres@127.0.0.1:5432/postgres
      repositories:
        - name: primary
          url: file:///var/lib/flotilla/repo
      """;

  @TempDir
  Path dir;

  private HostConfig load(String volumes) throws IOException {
    Path file = dir.resolve("agent.yaml");
    Files.writeString(file, BASE + volumes);
    return ConfigLoader.load(file);
  }

  @Test
  void shouldLoadVolumesWithExcludes() throws IOException {
    HostConfig config = load("""
        volumes:
          - name: uploads
            path: /srv/uploads/
            exclude: ["*.tmp", "cache/**"]
          - name: functions
            path: /srv/functions
        """);

    assertThat(config.volumes()).containsExactly(
        new VolumeConfig("uploads", Path.of("/srv/uploads"), List.of("*.tmp", "cache/**")),
        new VolumeConfig("functions", Path.of("/srv/functions"), List.of()));
    assertThat(config.volume("functions")).contains(config.volumes().get(1));
    assertThat(config.volume("nope")).isEmpty();
  }

  @Test
  void shouldHaveNoVolumesWithoutTheBlock() throws IOException {
    assertThat(load("").volumes()).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "relative path      | volumes: [{name: a, path: srv/a}]                         | volumes[0].path",
      "missing path       | volumes: [{name: a}]                                      | volumes[0].path",
      "missing name       | volumes: [{path: /srv/a}]                                 | volumes[0].name",
      "name with slash    | volumes: [{name: a/b, path: /srv/a}]                      | volumes[0].name",
      "name of dots       | volumes: [{name: .., path: /srv/a}]                       | volumes[0].name",
      "duplicate name     | volumes: [{name: a, path: /srv/a}, {name: a, path: /b}]   | volumes[1].name",
      "unknown key        | volumes: [{name: a, path: /srv/a, exclude-from: x}]       | volumes[0].exclude-from",
      "bad glob           | volumes: [{name: a, path: /srv/a, exclude: ['a[b']}]      | volumes[0].exclude[0]",
      "absolute glob      | volumes: [{name: a, path: /srv/a, exclude: ['/tmp/*']}]   | volumes[0].exclude[0]",
      "not a list         | volumes: {name: a, path: /srv/a}                          | volumes",
  })
  void shouldRejectBadVolumeNamingTheKey(String what, String yaml, String key) {
    FlotillaException e = catchThrowableOfType(FlotillaException.class, () -> load(yaml + "\n"));

    assertThat(e).as(what).isNotNull();
    assertThat(e.code()).isEqualTo(ErrorCode.CONFIG);
    assertThat(e.getMessage()).startsWith("config key " + key + ":");
  }
}
