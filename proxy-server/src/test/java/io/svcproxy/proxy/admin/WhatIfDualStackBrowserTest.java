package io.svcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The stats page's "what if" links of a dual-stack Service, in headless Chromium (as {@link StatusPageBrowserTest}).
 * From helper-133's review: the link was {@code #whatif=shop/web:http} for both families, and the API, taking no
 * clusterIP, answered it with a 400 "has 2 ports"; each link now names its port's clusterIP. The table is
 * {@link WhatIfQueryTest}'s, served by the admin server alone (nothing is bound at the clusterIPs).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WhatIfDualStackBrowserTest {
    @TempDir
    Path dir;
    private AdminServer admin;
    private ChromeDriver driver;

    @BeforeAll
    static void requireChromium() {
        StatusPageBrowserTest.requireChromium();
    }

    @AfterEach
    void stop() {
        if (driver != null) {
            driver.quit();
        }
        if (admin != null) {
            admin.stop();
        }
    }

    @Test
    void eachFamilysLinkOpensTheCardOfItsClusterIp() throws Exception {
        admin = new AdminServer(new InetSocketAddress("127.0.138.1", 0), WhatIfQueryTest.table(true),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        admin.start();
        driver = chromium();
        driver.get("http://127.0.138.1:" + admin.boundAddress().getPort() + "/");
        await().atMost(Duration.ofSeconds(30))
                .until(() -> driver.findElements(By.cssSelector("section.card a.whatif-link")).size() == 2);
        List<String> links = driver.findElements(By.cssSelector("section.card a.whatif-link")).stream()
                .map(a -> a.getAttribute("href").replaceFirst("^[^#]*", "")).toList();
        assertThat(links).containsExactlyInAnyOrder("#whatif=shop%2Fweb%3Ahttp%40127.0.10.27",
                "#whatif=shop%2Fweb%3Ahttp%40fd00%3A10%3A%3A27");

        for (WebElement a : driver.findElements(By.cssSelector("section.card a.whatif-link"))) {
            if (a.getAttribute("href").endsWith("fd00%3A10%3A%3A27")) {
                a.click();
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> "ready".equals(attribute("data-state")));
        assertThat(attribute("data-cluster-ip")).isEqualTo("fd00:10::27");
        assertThat(driver.findElement(By.cssSelector("#whatif h2")).getText()).contains("at fd00:10::27");
        assertThat(header())
                .contains("[fd00:1::88]:44001").doesNotContain("127.0.0.88");
        assertThat(driver.findElements(By.cssSelector("#whatif tr.in-use"))).hasSize(1); // its scheduler found

        driver.get("http://127.0.138.1:" + admin.boundAddress().getPort() + "/#whatif=shop%2Fweb%3Ahttp");
        await().atMost(Duration.ofSeconds(30)).until(() -> "ready".equals(attribute("data-state"))
                && "".equals(attribute("data-cluster-ip")));
        assertThat(header()).contains("127.0.0.88:44001");
    }

    /** The card's header row as written (getText() gives it as the style shows it: upper case). */
    private String header() {
        return driver.findElement(By.cssSelector("#whatif thead")).getAttribute("textContent");
    }

    private String attribute(String name) {
        return driver.findElement(By.id("whatif")).getAttribute(name);
    }

    private ChromeDriver chromium() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(StatusPageBrowserTest.CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1366,900", "--lang=en-US",
                "--user-data-dir=" + dir.resolve("profile"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(StatusPageBrowserTest.CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        return new ChromeDriver(service, options);
    }
}
