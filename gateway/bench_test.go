package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nai-project/nai/internal/loadgen"
)

// The gateway's cost, measured with a load generator on loopback: the same
// requests (a POST of a small JSON body, as a model's /predict gets, and a
// small JSON answer) sent straight to a replica and through the gateway,
// by 1 and by 64 concurrent clients (loadgen.Compare reports p50 and p99 of
// each path, the overhead, and each path's rate). The server package's
// BenchmarkServiceCall measures the same through a whole server (the door:
// authentication, routing). Figures: BENCH.md, "Service gateway".
//
//	go test -run '^$' -bench GatewayOverhead -benchtime 20000x ./gateway/
func BenchmarkGatewayOverhead(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(loadgen.Replica))
	defer backend.Close()
	g := New(Config{})
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{{AllocID: "1.1", Address: strings.TrimPrefix(backend.URL, "http://")}}}})
	gw := front(b, g)
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			loadgen.Compare(b, backend.URL+"/predict", gw.URL+"/s/predict", clients)
		})
	}
}
