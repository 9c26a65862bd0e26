/**
 * {@code svcproxy simulate}'s input and output: traces (CSV or the connection log), EVENTS.yaml, the sort of a
 * trace into start order in bounded memory, and the reports (table, JSON, HTML); also the replay of a Service
 * port's recent connections for {@code /api/v1/simulate}. The replay itself is {@code io.svcproxy.balancer.sim}.
 * Runs on the caller's thread (the command's, or the admin event loop).
 */
package io.svcproxy.proxy.simulate;
