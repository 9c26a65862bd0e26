/**
 * The desired state: the YAML model as immutable records, the loader that keeps SnakeYAML's line and column
 * for every value, and the validator that reports every problem at once. The first step of the arrow; depends
 * only on {@code io.svcproxy.balancer} (scheduler names). Runs on the control-plane thread, never on an event
 * loop.
 *
 * <p>{@link io.svcproxy.config.ConfigLoader} composes the YAML into a node tree ({@code YamlDocuments}), binds
 * it strictly ({@code ConfigBinder}, {@code PodBinder}, with {@code Fields} checking the keys of each mapping),
 * and throws a {@link io.svcproxy.config.ConfigException} with every {@link io.svcproxy.config.ConfigError},
 * sorted by file (the config, then its registry files in the order listed), line and column.
 * {@link io.svcproxy.config.ServicePorts#resolve} turns a valid config into one endpoint list per Service port.
 *
 * <p>Where SPEC.md is silent: an empty file is a valid config without Services; a key with a YAML null value
 * counts as not given; {@code selector: {}} is no selector (Kubernetes drops an empty selector), so the
 * Service selects no Pod; {@code sessionAffinityTimeout} with {@code sessionAffinity: None} has no effect;
 * {@code proxy.admin} accepts port 0 (any free port) for tests; numbers must be plain YAML integers (a quoted
 * {@code "80"} is text); merge keys ({@code <<}) are not supported.
 */
package io.svcproxy.config;
