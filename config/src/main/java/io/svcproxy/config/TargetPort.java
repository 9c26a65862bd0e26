package io.svcproxy.config;

/**
 * A Service port's {@code targetPort}: a number, or the name of a Pod's container port.
 *
 * @param number the port number, or 0 when named
 * @param name the port name, or {@code null} when numeric
 */
public record TargetPort(int number, String name) {
    /** Returns a numeric target port. */
    public static TargetPort of(int number) {
        return new TargetPort(number, null);
    }

    /** Returns a named target port. */
    public static TargetPort named(String name) {
        return new TargetPort(0, name);
    }

    /** Returns whether this target port is a name. */
    public boolean isNamed() {
        return name != null;
    }

    @Override
    public String toString() {
        return isNamed() ? name : Integer.toString(number);
    }
}
