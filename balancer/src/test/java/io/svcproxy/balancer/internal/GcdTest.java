package io.svcproxy.balancer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GcdTest {
    @Test
    void ignoresZerosAndReturnsZeroWhenNoneIsPositive() {
        assertThat(Gcd.ofPositive(new int[] {4, 0, 6, 10})).isEqualTo(2);
        assertThat(Gcd.ofPositive(new int[] {0, 0})).isZero();
        assertThat(Gcd.ofPositive(new int[] {7})).isEqualTo(7);
        assertThat(Gcd.gcd(12, 18)).isEqualTo(6);
    }

    @Test
    void flsIsTheOneBasedHighestBit() {
        assertThat(MaglevTable.fls(0)).isZero();
        assertThat(MaglevTable.fls(1)).isEqualTo(1);
        assertThat(MaglevTable.fls(64)).isEqualTo(7);
        assertThat(MaglevTable.fls(65535)).isEqualTo(16);
    }
}
