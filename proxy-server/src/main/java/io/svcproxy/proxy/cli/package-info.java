/**
 * The command line (picocli): {@code run}, {@code demo}, {@code validate}, {@code backend} and {@code version},
 * with the exit codes of SPEC.md (0 success, 1 runtime failure, 2 invalid command line or config). Runs on the
 * main thread; signal handlers run on the JVM's signal thread and hand work to a thread of their own.
 */
package io.svcproxy.proxy.cli;
