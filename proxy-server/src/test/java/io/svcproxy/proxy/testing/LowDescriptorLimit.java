package io.svcproxy.proxy.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * For tests that run this JVM out of file descriptors for a moment ({@code prlimit} from a shell): with no
 * descriptor to spare the JVM cannot open a class file either, so the classes of the path under test are loaded
 * before the limit comes down.
 */
public final class LowDescriptorLimit {
    private LowDescriptorLimit() {
    }

    /**
     * Loads the classes of {@code packages} (as {@code io/svcproxy/proxy/udp}) under the class-path entry of
     * {@code anchor} (a directory; from a jar they load without a new descriptor).
     */
    public static void preload(Class<?> anchor, String... packages) throws Exception {
        Path root = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (!Files.isDirectory(root)) {
            return;
        }
        for (String p : packages) {
            try (var files = Files.list(root.resolve(p))) {
                for (Path f : files.filter(x -> x.toString().endsWith(".class")).toList()) {
                    String name = root.relativize(f).toString().replace('/', '.');
                    Class.forName(name.substring(0, name.length() - ".class".length()), false,
                            LowDescriptorLimit.class.getClassLoader());
                }
            }
        }
    }

    /** This JVM's soft and hard {@code RLIMIT_NOFILE}, as /proc/self/limits writes them. */
    public static String[] limits() throws Exception {
        String nofile = Files.readAllLines(Path.of("/proc/self/limits")).stream()
                .filter(l -> l.startsWith("Max open files")).findFirst().orElseThrow();
        String[] fields = nofile.substring("Max open files".length()).trim().split("\\s+");
        return new String[] {fields[0], fields[1]};
    }

    /**
     * A soft limit that leaves this JVM exactly one descriptor to open. The limit bounds descriptor numbers, and a new
     * descriptor takes the lowest free number: the free numbers below the highest open one are filled first with
     * descriptors of {@code /dev/null}, which the caller closes ({@code filled}) once the limit is restored. Nothing
     * else of the JVM may open or close a descriptor meanwhile.
     */
    public static int oneToSpare(java.util.List<java.io.Closeable> filled) throws Exception {
        // a thread of an earlier test (a client's connection closing late) may still open or close one: filled again,
        // a few times at most
        for (int attempt = 1; ; attempt++) {
            int[] numbers = numbers();
            int highest = numbers[numbers.length - 1];
            for (int holes = highest + 1 - numbers.length; holes > 0; holes--) {
                filled.add(new java.io.FileInputStream("/dev/null"));
            }
            numbers = numbers();
            highest = numbers[numbers.length - 1];
            if (numbers.length == highest + 1) {
                return highest + 2; // numbers 0..highest are taken; highest + 1 is the one to spare
            }
            if (attempt == 10) {
                throw new IllegalStateException("descriptors opened or closed meanwhile: " + numbers.length
                        + " open, highest " + highest);
            }
            Thread.sleep(100);
        }
    }

    /** The numbers of this JVM's open descriptors, sorted, without the listing's own. */
    private static int[] numbers() throws Exception {
        java.util.List<Integer> all = new java.util.ArrayList<>();
        try (var listing = java.nio.file.Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path p : listing) {
                all.add(Integer.parseInt(p.getFileName().toString()));
            }
        }
        // the listing's own descriptor is the highest one opened last: it is closed now, so leave out the one
        // that no longer exists
        all.removeIf(n -> !Files.exists(Path.of("/proc/self/fd/" + n), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        return all.stream().mapToInt(Integer::intValue).sorted().toArray();
    }
}
