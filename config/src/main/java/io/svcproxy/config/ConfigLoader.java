package io.svcproxy.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads and validates a config file and the registry files it names.
 *
 * <p>The YAML is composed by SnakeYAML into a node tree, which keeps the line and column of every key and
 * value, and then bound to the records by hand, strictly: an unknown key, a duplicate key, a value of the
 * wrong type or out of range, and every rule of SPEC.md's "Config file" is a {@link ConfigError} pointing at
 * the offending key or value. Every problem is collected; none stops the others. An empty file (or one of
 * comments only) is a valid config with the defaults and no Services.
 */
public final class ConfigLoader {
    /** A file larger than this cannot hold 3 Mi code points of UTF-8 and is refused before it is parsed. */
    private static final int MAX_BYTES = 4 * YamlDocuments.CODE_POINT_LIMIT;

    /** The names of the standard input, the one stream a config may be read from. */
    private static final java.util.Set<String> STDIN = java.util.Set.of("/dev/stdin", "/proc/self/fd/0");

    private ConfigLoader() {
    }

    /**
     * Returns the valid config in {@code file} (with the Pods of its registry files), or throws every problem
     * found, each with file, line and column. A file that cannot be read is one error naming it, with line 0.
     */
    public static ProxyConfig load(Path file) throws ConfigException {
        return load(file, true, false);
    }

    /**
     * Returns the config in {@code file} as {@link #load} does, for a process about to start with it ({@code run},
     * {@code validate}): it also checks what only a start reads, the {@code registry.kubernetes.kubeconfig} file
     * (a reload does not read it again: that key takes effect at restart).
     */
    public static ProxyConfig loadToStart(Path file) throws ConfigException {
        return load(file, true, true);
    }

    /**
     * Returns the config in {@code file} as {@link #load} does, for a command that reads another machine's config
     * to describe it rather than run it ({@code svcproxy simulate}): the files only a running proxy opens are not
     * checked, so the connection log's folder need not exist here, and the Ingresses' TLS entries are left out
     * (their certificate files are not read). Its registry files are read as {@link #load} reads them.
     */
    public static ProxyConfig loadAsWritten(Path file) throws ConfigException {
        return load(file, false, false);
    }

    private static ProxyConfig load(Path file, boolean runtimeFiles, boolean startFiles) throws ConfigException {
        String text;
        try {
            text = read(file);
        } catch (NotUtf8Exception e) {
            throw new ConfigException(List.of(new ConfigError(file.toString(), e.line, e.column, "",
                    "cannot read: " + e.what())));
        } catch (IOException e) {
            throw new ConfigException(List.of(new ConfigError(file.toString(), 0, 0, "",
                    "cannot read: " + reason(e))));
        }
        return parse(text, file, runtimeFiles, startFiles);
    }

    /**
     * Parses and validates a config held in memory; {@code fileName} is used in error messages and, as a path,
     * to find the registry files it names (relative to its folder).
     */
    public static ProxyConfig parse(String yaml, String fileName) throws ConfigException {
        Path file;
        try {
            file = Path.of(fileName);
        } catch (InvalidPathException e) {
            throw new ConfigException(List.of(new ConfigError(fileName, 0, 0, "", "cannot read: not a file path")));
        }
        return parse(yaml, file, true, false);
    }

    private static ProxyConfig parse(String yaml, Path file, boolean runtimeFiles, boolean startFiles)
            throws ConfigException {
        List<ConfigError> errors = new ArrayList<>();
        Map<String, Integer> fileOrder = new LinkedHashMap<>();
        String shown = file.toString();
        fileOrder.put(shown, 0);
        Problems problems = new Problems(shown, errors);
        Node root = YamlDocuments.compose(yaml, problems);
        ConfigBinder config = ConfigBinder.bind(root, problems, file, runtimeFiles);
        if (startFiles && config.kubernetes != null && config.kubeconfigNode != null
                && !config.kubernetes.kubeconfigReadable()) {
            Values.wrong(problems, config.kubeconfigNode, "registry.kubernetes.kubeconfig",
                    "a readable kubeconfig file");
        }

        List<PodBinder.BoundPod> pods = new ArrayList<>(config.pods);
        for (ConfigBinder.RegistryEntry entry : config.registryFiles) {
            String name = entry.file().toString();
            String text;
            try {
                text = read(entry.file());
            } catch (NotUtf8Exception e) {
                // at the byte, as the config file's own: an editor's problem matcher opens the registry file there
                fileOrder.putIfAbsent(name, fileOrder.size());
                errors.add(new ConfigError(name, e.line, e.column, "", "cannot read: " + e.what()));
                continue;
            } catch (IOException e) {
                problems.at(entry.node(), entry.path(), Values.label(entry.path()) + ": " + name
                        + " (cannot read: " + reason(e) + ")");
                continue;
            }
            fileOrder.putIfAbsent(name, fileOrder.size());
            Problems registryProblems = new Problems(name, errors);
            pods.addAll(PodBinder.bindRegistryFile(YamlDocuments.compose(text, registryProblems),
                    registryProblems));
        }
        checkPodNames(pods);
        checkPodAddresses(config.services, pods);
        OwnListeners.check(config.services, config.serviceBinder.endpointIps, pods);

        if (!errors.isEmpty()) {
            errors.sort(Comparator.comparingInt((ConfigError e) -> fileOrder.getOrDefault(e.file(), 0))
                    .thenComparingInt(ConfigError::line).thenComparingInt(ConfigError::column));
            // the files it names, so that a watcher sees the one a fix is written to
            throw new ConfigException(errors, ProxyConfig.watchedFiles(
                    config.registryFiles.stream().map(ConfigBinder.RegistryEntry::file).toList(), config.ingresses()));
        }
        return new ProxyConfig(file, config.proxy(), config.registry(), config.services,
                pods.stream().map(PodBinder.BoundPod::spec).toList(), config.ingresses());
    }

    /** A Pod name is unique in its namespace across the config and all registry files; the second is reported. */
    private static void checkPodNames(List<PodBinder.BoundPod> pods) {
        Map<String, PodBinder.BoundPod> seen = new HashMap<>();
        for (PodBinder.BoundPod pod : pods) {
            if (pod.nameNode() == null) {
                continue;
            }
            PodBinder.BoundPod first = seen.putIfAbsent(pod.spec().namespace() + "/" + pod.spec().name(), pod);
            if (first != null) {
                String where = first.problems() == pod.problems()
                        ? Problems.line(first.nameNode())
                        : first.problems().where(first.nameNode());
                Values.wrong(pod.problems(), pod.nameNode(), pod.namePath(),
                        "a name unique in namespace " + pod.spec().namespace() + "; also at " + where);
            }
        }
    }

    /**
     * Refuses a second Pod at the address and target port of another that the same Service selects: one endpoint
     * would be dropped, with its weight and readiness, as an explicit endpoint written twice would (which is refused
     * too). Only Pods that share an address are compared, so this costs nothing for the usual file.
     */
    private static void checkPodAddresses(List<ServiceSpec> services, List<PodBinder.BoundPod> pods) {
        Map<java.net.InetAddress, List<PodBinder.BoundPod>> byIp = new HashMap<>();
        for (PodBinder.BoundPod pod : pods) {
            if (pod.nameNode() != null && pod.spec().ip() != null) {
                byIp.computeIfAbsent(pod.spec().ip(), k -> new ArrayList<>()).add(pod);
            }
        }
        for (List<PodBinder.BoundPod> shared : byIp.values()) {
            if (shared.size() < 2) {
                continue;
            }
            for (ServiceSpec service : services) {
                if (service.selector() == null) {
                    continue;
                }
                for (PortSpec port : service.ports()) {
                    Map<Integer, PodBinder.BoundPod> first = new HashMap<>();
                    for (PodBinder.BoundPod pod : shared) {
                        int target = ServicePorts.selects(service, pod.spec())
                                ? ServicePorts.targetOf(port, pod.spec()) : 0;
                        if (target <= 0) {
                            continue;
                        }
                        PodBinder.BoundPod earlier = first.putIfAbsent(target, pod);
                        if (earlier != null) {
                            String where = earlier.problems() == pod.problems()
                                    ? Problems.line(earlier.nameNode())
                                    : earlier.problems().where(earlier.nameNode());
                            Values.wrong(pod.problems(), pod.nameNode(), pod.namePath(), "a Pod at an address and "
                                    + "port of its own among those Service " + service.qualifiedName() + " selects; "
                                    + Addresses.format(pod.spec().ip(), target) + " is also Pod "
                                    + earlier.spec().name() + "'s, at " + where);
                        }
                    }
                }
            }
        }
    }

    /**
     * Returns the one-line summary {@code validate} prints, such as
     * {@code svcproxy.yaml: ok: 2 services, 3 ports, 5 pods, 1 registry file} (with {@code , N ingresses} when the
     * file has Ingresses and {@code , kubernetes} when that source is configured).
     */
    public static String summary(ProxyConfig config) {
        int ports = config.services().stream().mapToInt(s -> s.ports().size()).sum();
        String file = config.source() == null ? "config" : config.source().toString();
        return file + ": ok: " + count(config.services().size(), "service") + ", " + count(ports, "port") + ", "
                + count(config.pods().size(), "pod") + ", " + count(config.registry().files().size(), "registry file")
                + (config.ingresses().isEmpty() ? "" : ", " + count(config.ingresses().size(), "ingress"))
                + (config.registry().kubernetes() != null ? ", kubernetes" : "");
    }

    private static String count(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : noun.endsWith("s") ? "es" : "s");
    }

    /**
     * Reads strict UTF-8 (a leading byte order mark is dropped), refusing a file too large to be a config; a byte
     * that is not UTF-8 is a {@link NotUtf8Exception} with its line and column. Also the simulator's input files'.
     */
    public static String read(Path file) throws IOException {
        if (!Files.isRegularFile(file) && !STDIN.contains(file.toString()) && Files.exists(file)
                && !Files.isDirectory(file)) {
            // a FIFO or a device: opening one blocks until a writer comes, and reading it may never end; the
            // config watch would hang on it for good. Only the standard input is read as a stream
            // (validate --config /dev/stdin)
            throw new IOException("not a regular file");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        }
        if (bytes.length > MAX_BYTES) {
            throw new IOException("larger than " + MAX_BYTES / (1024 * 1024) + " MiB");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(bytes.length); // UTF-8: never more chars than bytes
        java.nio.charset.CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        java.nio.charset.CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            throw NotUtf8Exception.at(bytes, in.position(), out);
        }
        String text = out.flip().toString();
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    /** A file that is not UTF-8 text, with where the first byte that is not is (line and column from 1). */
    public static final class NotUtf8Exception extends IOException {
        private static final long serialVersionUID = 1L;
        final int line;
        final int column;
        private final int badByte;

        private NotUtf8Exception(int line, int column, int badByte) {
            super(String.format("not UTF-8 text (byte 0x%02x at line %d, column %d)", badByte, line, column));
            this.line = line;
            this.column = column;
            this.badByte = badByte;
        }

        /** The line of the first byte that is not UTF-8, from 1. */
        public int line() {
            return line;
        }

        /** The problem without its position, for an error that carries the position itself. */
        String what() {
            return String.format("not UTF-8 text (byte 0x%02x)", badByte);
        }

        /** {@code decoded} holds the characters before {@code offset}, the bad byte's index in {@code bytes}. */
        static NotUtf8Exception at(byte[] bytes, int offset, java.nio.CharBuffer decoded) {
            int line = 1;
            for (int i = 0; i < offset; i++) {
                if (bytes[i] == '\n') {
                    line++;
                }
            }
            int column = 1;
            for (int i = decoded.position() - 1; i >= 0 && decoded.get(i) != '\n'; i--) {
                column += decoded.get(i) == '\uFEFF' && i == 0 ? 0 : 1; // a byte order mark is no column
            }
            return new NotUtf8Exception(line, column, bytes[offset] & 0xff);
        }
    }

    /**
     * Why a file could not be read or written, in the system's words without the path (the message names the file
     * already): {@code no such file}, {@code permission denied}, or the file system's reason. Also {@code simulate}'s.
     */
    public static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        // the system's reason alone: the error names the file already (a FileSystemException's message is
        // "FILE: reason", which printed the path twice)
        String m = e instanceof java.nio.file.FileSystemException fs ? fs.getReason() : e.getMessage();
        if (m == null || m.isBlank()) {
            return "read failed";
        }
        return m.length() > 1 && Character.isLowerCase(m.charAt(1)) ? Character.toLowerCase(m.charAt(0))
                + m.substring(1) : m;
    }
}
