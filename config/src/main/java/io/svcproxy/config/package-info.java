/**
 * The desired state: the YAML model as immutable records, the loader that keeps SnakeYAML's line and column
 * for every value, and the validator that reports every problem at once. The first step of the arrow; depends
 * only on {@code io.svcproxy.balancer} (scheduler names). Runs on the control-plane thread, never on an event
 * loop.
 */
package io.svcproxy.config;
