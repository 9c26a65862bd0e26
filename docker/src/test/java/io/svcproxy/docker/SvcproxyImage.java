package io.svcproxy.docker;

import static org.assertj.core.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.utility.DockerImageName;

/**
 * The image under test, built once per test run from {@code docker/Dockerfile} and the jar Maven built, on the
 * base image named by the environment variable {@code SVCPROXY_BASE_IMAGE} ({@code eclipse-temurin:17-jre} when
 * unset; {@code ./test.sh} sets the offline base of {@code docker/build-base-image.sh} where no registry answers).
 *
 * <p>Docker missing is a failure, never a skip: only {@code -DskipContainerTests} skips these tests.
 */
final class SvcproxyImage {
    private static final Logger log = LoggerFactory.getLogger("tc");
    static final String TAG = "svcproxy-it:latest";
    static final String DEFAULT_BASE = "eclipse-temurin:17-jre";

    private static String built;

    private SvcproxyImage() {
    }

    /** Fails the test unless a Docker engine answers. */
    static void requireDocker() {
        if (!DockerClientFactory.instance().isDockerAvailable()) {
            fail("No Docker engine answers: the container tests need one. ./test.sh installs and starts it "
                    + "(as root); or start dockerd yourself, or skip these tests with -DskipContainerTests");
        }
    }

    /** Returns the base image the tests build on. */
    static String baseImage() {
        String base = System.getenv("SVCPROXY_BASE_IMAGE");
        return base == null || base.isBlank() ? DEFAULT_BASE : base;
    }

    /** Builds the image (once) and returns its tag. */
    static synchronized String tag() {
        if (built != null) {
            return built;
        }
        requireDocker();
        Path jar = Path.of(System.getProperty("svcproxy.jar", "../proxy-server/target/svcproxy.jar"));
        if (!Files.isRegularFile(jar)) {
            fail(jar.toAbsolutePath().normalize() + " is missing: run mvn package (or ./test.sh) first");
        }
        String base = baseImage();
        long start = System.nanoTime();
        String previous = imageId(TAG);
        try {
            new ImageFromDockerfile(TAG, false)
                    .withFileFromPath("Dockerfile", dockerDir().resolve("Dockerfile"))
                    .withFileFromPath("proxy-server/target/svcproxy.jar", jar)
                    .withBuildArg("BASE_IMAGE", base)
                    .get();
        } catch (RuntimeException e) {
            fail("Cannot build " + TAG + " from docker/Dockerfile on BASE_IMAGE=" + base + ". Without a registry, "
                    + "build the offline base (docker/build-base-image.sh) and set "
                    + "SVCPROXY_BASE_IMAGE=svcproxy-base:17-offline; ./test.sh does both", e);
        }
        log.info("Built {} on {} in {} ms", TAG, base, (System.nanoTime() - start) / 1_000_000);
        removeReplaced(previous);
        built = TAG;
        return built;
    }

    /** The id of the image {@code tag} names, or {@code null} when there is none. */
    private static String imageId(String tag) {
        try {
            return DockerClientFactory.instance().client().inspectImageCmd(tag).exec().getId();
        } catch (RuntimeException e) {
            return null; // none yet
        }
    }

    /**
     * Removes the image the tag named before this build, once the tag moved: each run left one untagged (about
     * 55 MB; 44 of them here after a day of runs, helper-95's review). One still used by a container stays.
     */
    private static void removeReplaced(String previous) {
        if (previous == null || previous.equals(imageId(TAG))) {
            return;
        }
        try {
            DockerClientFactory.instance().client().removeImageCmd(previous).exec();
        } catch (RuntimeException e) {
            log.info("Previous {} image left: {}", TAG, e.getMessage());
        }
    }

    /** Returns a container of the image, never pulled. */
    static GenericContainer<?> container() {
        return new GenericContainer<>(DockerImageName.parse(tag())).withImagePullPolicy(name -> false);
    }

    /** Returns the {@code docker/} directory of the repository. */
    static Path dockerDir() {
        return Path.of(System.getProperty("svcproxy.dockerDir", ".")).toAbsolutePath().normalize();
    }

    /** Stops the containers that were started (nulls are skipped), then removes the network. */
    static void stopAll(java.util.List<? extends org.testcontainers.containers.GenericContainer<?>> containers,
                        org.testcontainers.containers.Network network) {
        for (org.testcontainers.containers.GenericContainer<?> c : containers) {
            if (c != null) {
                c.stop();
            }
        }
        if (network != null) {
            network.close();
        }
    }
}
