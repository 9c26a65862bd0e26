package io.svcproxy.balancer;

import java.util.Locale;

/** The IPVS scheduler flags svcproxy supports ({@code ipvsadm -b}), with their config names. */
public enum SchedulerFlag {
    /** sh: walk the next buckets when the hashed backend is unavailable (IP_VS_SVC_F_SCHED1). */
    SH_FALLBACK("sh"),
    /** sh: hash the client's port as well as its address (IP_VS_SVC_F_SCHED2). */
    SH_PORT("sh"),
    /** mh: walk the next slots when the hashed backend is unavailable (IP_VS_SVC_F_SCHED1). */
    MH_FALLBACK("mh"),
    /** mh: hash the client's port as well as its address (IP_VS_SVC_F_SCHED2). */
    MH_PORT("mh");

    private final String scheduler;

    SchedulerFlag(String scheduler) {
        this.scheduler = scheduler;
    }

    /** Returns the config name, such as {@code sh-fallback}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Returns the scheduler this flag belongs to. */
    public String scheduler() {
        return scheduler;
    }

    /** Returns the flag of a config name, or {@code null} if there is none. */
    public static SchedulerFlag fromConfigName(String name) {
        for (SchedulerFlag flag : values()) {
            if (flag.configName().equals(name)) {
                return flag;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return configName();
    }
}
