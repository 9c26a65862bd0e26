package io.svcproxy.balancer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/** Compares every scheduler with its reference model in {@link KernelModel} on random lists and counters. */
class ReferenceModelTest {
    private static int index(List<? extends Backend> list, Backend picked) {
        return picked == null ? -1 : list.indexOf(picked);
    }

    @Property(tries = 200, seed = "20240601")
    void rrMatchesTheModel(@ForAll long seed) {
        RandomScenario r = new RandomScenario(seed);
        List<BackendState> list = r.backends(8);
        Scheduler s = Schedulers.create("rr", Set.of(), list);
        KernelModel.Rr model = new KernelModel.Rr();
        for (int i = 0; i < 30; i++) {
            PickContext ctx = r.clientAvoiding(list);
            assertThat(index(list, s.pick(ctx))).isEqualTo(model.pick(KernelModel.dests(list, ctx)));
        }
    }

    @Property(tries = 200, seed = "20240602")
    void wrrMatchesTheClassicCycle(@ForAll long seed) {
        RandomScenario r = new RandomScenario(seed);
        List<BackendState> list = r.backends(6);
        list.replaceAll(b -> b.weight() > 20 ? b.withWeight(1 + b.weight() % 20, BackendState.State.READY) : b);
        Scheduler s = Schedulers.create("wrr", Set.of(), list);
        PickContext ctx = r.client();
        List<Integer> cycle = KernelModel.wrrCycle(KernelModel.dests(list, ctx));
        for (int round = 0; round < 3; round++) {
            for (int expected : cycle) {
                assertThat(index(list, s.pick(ctx))).isEqualTo(expected);
            }
        }
        if (cycle.isEmpty()) {
            assertThat(s.pick(ctx)).isNull();
        }
    }

    @Property(tries = 300, seed = "20240603")
    void connectionSchedulersMatchTheModel(@ForAll long seed) {
        RandomScenario r = new RandomScenario(seed);
        List<BackendState> list = r.backends(8);
        for (int i = 0; i < 5; i++) {
            PickContext ctx = r.clientAvoiding(list);
            List<KernelModel.Dest> dests = KernelModel.dests(list, ctx);
            assertThat(index(list, Schedulers.create("lc", Set.of(), list).pick(ctx)))
                    .isEqualTo(KernelModel.lc(dests));
            assertThat(index(list, Schedulers.create("wlc", Set.of(), list).pick(ctx)))
                    .isEqualTo(KernelModel.weightedMin(dests, false));
            assertThat(index(list, Schedulers.create("sed", Set.of(), list).pick(ctx)))
                    .isEqualTo(KernelModel.weightedMin(dests, true));
            assertThat(index(list, Schedulers.create("nq", Set.of(), list).pick(ctx)))
                    .isEqualTo(KernelModel.nq(dests));
        }
    }

    @Property(tries = 200, seed = "20240604")
    void dhAndShMatchTheModel(@ForAll long seed) {
        RandomScenario r = new RandomScenario(seed);
        List<BackendState> list = r.backends(10);
        boolean fallback = r.random.nextBoolean();
        boolean port = r.random.nextBoolean();
        Set<SchedulerFlag> flags = java.util.EnumSet.noneOf(SchedulerFlag.class);
        if (fallback) {
            flags.add(SchedulerFlag.SH_FALLBACK);
        }
        if (port) {
            flags.add(SchedulerFlag.SH_PORT);
        }
        Scheduler sh = Schedulers.create("sh", flags, list);
        Scheduler dh = Schedulers.create("dh", Set.of(), list);
        for (int i = 0; i < 20; i++) {
            PickContext ctx = r.clientAvoiding(list);
            List<KernelModel.Dest> dests = KernelModel.dests(list, ctx);
            int clientFold = KernelModel.fold(ctx.clientAddress().getAddress());
            assertThat(index(list, sh.pick(ctx))).isEqualTo(KernelModel.shPick(dests, KernelModel.shTable(dests),
                    clientFold, port ? ctx.clientPort() : 0, fallback || ctx.isRetry()));
            int destinationFold = KernelModel.fold(ctx.destinationAddress().getAddress());
            assertThat(index(list, dh.pick(ctx))).isEqualTo(KernelModel.shPick(dests,
                    KernelModel.dhTable(list.size()), destinationFold, 0, ctx.isRetry()));
        }
    }

    @Property(tries = 60, seed = "20240605")
    void mhMatchesTheModel(@ForAll long seed) {
        RandomScenario r = new RandomScenario(seed);
        List<BackendState> list = r.backends(12);
        boolean fallback = r.random.nextBoolean();
        boolean port = r.random.nextBoolean();
        Set<SchedulerFlag> flags = java.util.EnumSet.noneOf(SchedulerFlag.class);
        if (fallback) {
            flags.add(SchedulerFlag.MH_FALLBACK);
        }
        if (port) {
            flags.add(SchedulerFlag.MH_PORT);
        }
        MaglevHashingScheduler mh = (MaglevHashingScheduler) Schedulers.create("mh", flags, list);
        int[] modelTable = KernelModel.mhTable(KernelModel.dests(list, PickContext.of(
                TestBackends.ip("1.1.1.1"), 1, TestBackends.ip("1.1.1.1"))));
        assertThat(mh.table()).isEqualTo(modelTable);
        for (int i = 0; i < 20; i++) {
            PickContext ctx = r.clientAvoiding(list);
            List<KernelModel.Dest> dests = KernelModel.dests(list, ctx);
            int clientFold = KernelModel.fold(ctx.clientAddress().getAddress());
            assertThat(index(list, mh.pick(ctx))).isEqualTo(KernelModel.mhPick(dests, modelTable, clientFold,
                    port ? ctx.clientPort() : 0, fallback || ctx.isRetry()));
        }
    }
}
