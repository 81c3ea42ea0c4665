package io.flotilla.manifest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;

/** JSON reading and writing of manifests and the repository descriptor. */
public final class Manifests {
  public static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private Manifests() {}

  public static Buffer toJson(Object value) {
    try {
      return Buffer.buffer(JSON.writeValueAsBytes(value));
    } catch (IOException e) {
      throw new FlotillaException(ErrorCode.INTERNAL, "cannot write JSON: " + e.getMessage(), e);
    }
  }

  public static <T> T fromJson(Buffer json, Class<T> type, String what) {
    try {
      return JSON.readValue(json.getBytes(), type);
    } catch (IOException e) {
      throw new FlotillaException(ErrorCode.INTEGRITY, what + " is not valid: " + e.getMessage().lines().findFirst().orElse(""), e);
    }
  }
}
