package lab.reference;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Minimal JSON for the /json and /gateway endpoints (the JDK has no JSON library and the lab
 * uses no Maven). write walks the value it is given and escapes strings per RFC 8259, so a body
 * is built from the object on every request, never a stored constant; parse reads the
 * downstream's answers. Stateless; thread-safe.
 */
final class Json {
  private Json() {}

  /** Serializes maps, lists, strings, numbers, booleans and null; anything else is an error. */
  static String write(Object value) {
    StringBuilder out = new StringBuilder(64);
    write(value, out);
    return out.toString();
  }

  private static void write(Object value, StringBuilder out) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof String) {
      writeString((String) value, out);
    } else if (value instanceof Number || value instanceof Boolean) {
      out.append(value);
    } else if (value instanceof Map) {
      out.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
        if (!first) {
          out.append(',');
        }
        first = false;
        writeString(String.valueOf(entry.getKey()), out);
        out.append(':');
        write(entry.getValue(), out);
      }
      out.append('}');
    } else if (value instanceof List) {
      out.append('[');
      boolean first = true;
      for (Object element : (List<?>) value) {
        if (!first) {
          out.append(',');
        }
        first = false;
        write(element, out);
      }
      out.append(']');
    } else {
      throw new IllegalArgumentException("no JSON form for " + value.getClass());
    }
  }

  private static void writeString(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
      }
    }
    out.append('"');
  }

  /**
   * Parses one JSON value (RFC 8259) into LinkedHashMap, ArrayList, String, Long (an integer
   * that fits), Double (any other number), Boolean or null. Throws IllegalArgumentException on
   * anything that is not exactly one JSON value, surrounding whitespace aside.
   */
  static Object parse(String text) {
    Parser parser = new Parser(text);
    Object value = parser.value();
    parser.skipSpace();
    if (parser.pos != text.length()) {
      throw parser.error();
    }
    return value;
  }

  /** A recursive-descent reader over one string; one instance per parse call. */
  private static final class Parser {
    private final String text;
    int pos;

    Parser(String text) {
      this.text = text;
    }

    IllegalArgumentException error() {
      return new IllegalArgumentException("not JSON at offset " + pos);
    }

    void skipSpace() {
      while (pos < text.length() && " \t\r\n".indexOf(text.charAt(pos)) >= 0) {
        pos++;
      }
    }

    private boolean take(char c) {
      skipSpace();
      if (pos < text.length() && text.charAt(pos) == c) {
        pos++;
        return true;
      }
      return false;
    }

    private void expect(char c) {
      if (!take(c)) {
        throw error();
      }
    }

    Object value() {
      skipSpace();
      if (pos >= text.length()) {
        throw error();
      }
      char c = text.charAt(pos);
      switch (c) {
        case '{': {
          pos++;
          Map<String, Object> object = new LinkedHashMap<>();
          if (take('}')) {
            return object;
          }
          do {
            skipSpace();
            String key = string();
            expect(':');
            object.put(key, value());
          } while (take(','));
          expect('}');
          return object;
        }
        case '[': {
          pos++;
          List<Object> array = new ArrayList<>();
          if (take(']')) {
            return array;
          }
          do {
            array.add(value());
          } while (take(','));
          expect(']');
          return array;
        }
        case '"':
          return string();
        default:
          if (text.startsWith("true", pos)) {
            pos += 4;
            return Boolean.TRUE;
          }
          if (text.startsWith("false", pos)) {
            pos += 5;
            return Boolean.FALSE;
          }
          if (text.startsWith("null", pos)) {
            pos += 4;
            return null;
          }
          return number();
      }
    }

    private String string() {
      if (pos >= text.length() || text.charAt(pos) != '"') {
        throw error();
      }
      pos++;
      StringBuilder out = new StringBuilder();
      while (pos < text.length()) {
        char c = text.charAt(pos++);
        if (c == '"') {
          return out.toString();
        }
        if (c < 0x20) {
          throw error();
        }
        if (c != '\\') {
          out.append(c);
          continue;
        }
        if (pos >= text.length()) {
          throw error();
        }
        char e = text.charAt(pos++);
        int simple = "\"\\/bfnrt".indexOf(e);
        if (simple >= 0) {
          out.append("\"\\/\b\f\n\r\t".charAt(simple));
        } else if (e == 'u' && pos + 4 <= text.length()) {
          try {
            out.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
          } catch (NumberFormatException bad) {
            throw error();
          }
          pos += 4;
        } else {
          throw error();
        }
      }
      throw error();
    }

    /** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
    private Object number() {
      int start = pos;
      boolean integer = true;
      if (pos < text.length() && text.charAt(pos) == '-') {
        pos++;
      }
      if (pos < text.length() && text.charAt(pos) == '0') {
        pos++;
      } else if (!digits()) {
        throw error();
      }
      if (pos < text.length() && text.charAt(pos) == '.') {
        pos++;
        integer = false;
        if (!digits()) {
          throw error();
        }
      }
      if (pos < text.length() && (text.charAt(pos) == 'e' || text.charAt(pos) == 'E')) {
        pos++;
        integer = false;
        if (pos < text.length() && (text.charAt(pos) == '+' || text.charAt(pos) == '-')) {
          pos++;
        }
        if (!digits()) {
          throw error();
        }
      }
      String literal = text.substring(start, pos);
      if (integer) {
        try {
          return Long.parseLong(literal);
        } catch (NumberFormatException tooLong) {
          // falls through to a Double, like any JSON reader without big numbers
        }
      }
      return Double.parseDouble(literal);
    }

    private boolean digits() {
      int start = pos;
      while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
        pos++;
      }
      return pos > start;
    }
  }
}
