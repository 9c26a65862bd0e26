package io.svcproxy.ingress.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The path a request is routed by: nginx's {@code $uri} (decoded, dot segments resolved, slashes merged). */
class RequestPathTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', nullValues = "400", textBlock = """
            /                         | /
            /api/x?a=../b             | /api/x
            /api/x#frag               | /api/x
            *                         | /
            /public/../api/x          | /api/x
            /public/./api             | /public/api
            /public/%2e%2E/api/x      | /api/x
            /public/.%2e/api          | /api
            /a//b///c                 | /a/b/c
            //api                     | /api
            /a/b/                     | /a/b/
            /a/b/.                    | /a/b/
            /a/b/..                   | /a/
            /a/..                     | /
            /a/%2F../b                | /b
            /a%2fb                    | /a/b
            /%25%32%65                | /%2e
            /caf%C3%A9                | /café
            /a%3Fb?c                  | /a?b
            /a%23b                    | /a#b
            /.hidden/x                | /.hidden/x
            /a/...                    | /a/...
            /..                       | 400
            /a/../..                  | 400
            /%2e%2e/x                 | 400
            /a%zz                     | 400
            /a%2                      | 400
            /a%00b                    | 400
            """)
    void normalForm(String target, String path) {
        assertThat(RequestPath.of(target)).isEqualTo(path);
    }

    @ParameterizedTest(name = "{0} routes to {1}")
    @CsvSource(delimiter = '|', textBlock = """
            /public/x                 | public
            /public/../admin/x        | admin
            /public/%2e%2e/admin/x    | admin
            /public/..%2Fadmin        | admin
            /admin/../public          | public
            /public//../admin         | admin
            /login/.                  | none
            /log%69n                  | login
            /login%3F                 | none
            """)
    void theRoutingTableMatchesTheNormalForm(String target, String backend) {
        RoutingTable<String> table = RoutingTable.compile(List.of(new IngressRules<>("default/shop", null,
                List.of(new Rule<>("shop.example", List.of(new PathRule<>("/public", PathType.PREFIX, "public"),
                        new PathRule<>("/admin", PathType.PREFIX, "admin"),
                        new PathRule<>("/login", PathType.EXACT, "login")))))));

        Route<String> route = table.matchPath("shop.example", RequestPath.of(target));
        assertThat(route == null ? "none" : route.backend()).isEqualTo(backend);
    }
}
