/**
 * {@code svcproxy simulate}'s input and output: traces (CSV or the connection log), EVENTS.yaml, the sort of a
 * trace into start order in bounded memory, and the reports (table, JSON, HTML). The replay itself is
 * {@code io.svcproxy.balancer.sim}. Runs on the command's thread only.
 */
package io.svcproxy.proxy.simulate;
