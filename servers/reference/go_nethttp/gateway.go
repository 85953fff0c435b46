// The /gateway endpoint (docs/service-contract.md, "/gateway"): K calls to the downstream's
// /delay, all at once (a goroutine each, joined with a sync.WaitGroup) or one after another,
// under one context that carries the optional deadline. Cancelling that context makes the
// http.Transport close the connection of every call still outstanding, so nothing outlives
// the request and the downstream sees the caller go away.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	maxFanout     = 64
	maxDeadlineMs = 600_000
	maxCallBody   = 4096 // a /delay answer is ~20 bytes; anything longer is not one
)

// gatewayCall and gatewayReply give the response its field order: encoding/json writes struct
// fields in declaration order.
type gatewayCall struct {
	I  int `json:"i"`
	Ms int `json:"ms"`
}

type gatewayReply struct {
	Fanout int           `json:"fanout"`
	Mode   string        `json:"mode"`
	Calls  []gatewayCall `json:"calls"`
}

// downstreamClient calls the downstream service. One http.Client (and so one Transport and one
// connection pool) serves every request; it is safe for concurrent use.
type downstreamClient struct {
	baseURL string
	client  *http.Client
}

// downstream is nil without --downstream; /gateway then answers 502.
var downstream *downstreamClient

// newDownstreamClient bounds the connections to the downstream at pool: MaxConnsPerHost makes
// a call that finds all of them busy wait for one (the wait counts against its context), and
// MaxIdleConnsPerHost = pool keeps them all for reuse. Go's default of 2 idle connections per
// host would close and re-dial almost every connection under a fan-out.
func newDownstreamClient(hostPort string, pool int) *downstreamClient {
	transport := &http.Transport{
		Proxy:               nil, // the downstream is always direct, whatever HTTP_PROXY says
		DialContext:         (&net.Dialer{}).DialContext,
		MaxConnsPerHost:     pool,
		MaxIdleConns:        pool,
		MaxIdleConnsPerHost: pool,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &downstreamClient{baseURL: "http://" + hostPort, client: &http.Client{Transport: transport}}
}

var errBadAnswer = errors.New("downstream answer is not 200 with {\"i\":..,\"ms\":..}")

// call makes one GET /delay?ms=ms&i=i. Cancelling ctx aborts it and closes its connection.
func (d *downstreamClient) call(ctx context.Context, i, ms int) (gatewayCall, error) {
	url := fmt.Sprintf("%s/delay?ms=%d&i=%d", d.baseURL, ms, i)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return gatewayCall{}, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return gatewayCall{}, err
	}
	defer resp.Body.Close()
	// Read the whole body (when it is short) so the connection goes back to the pool.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCallBody+1))
	if err != nil {
		return gatewayCall{}, err
	}
	var answer struct {
		I  *int `json:"i"`
		Ms *int `json:"ms"`
	}
	if resp.StatusCode != http.StatusOK || len(body) > maxCallBody ||
		json.Unmarshal(body, &answer) != nil || answer.I == nil || answer.Ms == nil {
		return gatewayCall{}, errBadAnswer
	}
	return gatewayCall{I: *answer.I, Ms: *answer.Ms}, nil
}

// fanOut makes the calls with indexes 0..fanout-1 and returns their answers in index order,
// or the first error. The first failure cancels the calls still outstanding; fanOut returns
// only after every goroutine it started has finished.
func (d *downstreamClient) fanOut(ctx context.Context, fanout, ms int, sequential bool) ([]gatewayCall, error) {
	calls := make([]gatewayCall, fanout)
	if sequential {
		for i := range calls {
			answer, err := d.call(ctx, i, ms)
			if err != nil {
				return nil, err
			}
			calls[i] = answer
		}
		return calls, nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		failOnce sync.Once
		firstErr error
	)
	for i := range calls {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			answer, err := d.call(ctx, i, ms)
			if err != nil {
				failOnce.Do(func() {
					firstErr = err
					cancel()
				})
				return
			}
			calls[i] = answer // each goroutine writes only its own element
		}(i)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return calls, nil
}

func gateway(w http.ResponseWriter, r *http.Request) {
	query := r.URL.RawQuery
	fanout, fanoutOK := boundedParam(r, "fanout", maxFanout)
	ms, msOK := boundedParam(r, "ms", maxSleepMs)
	if !fanoutOK || fanout < 1 || !msOK {
		replyError(w, http.StatusBadRequest, false)
		return
	}
	mode := "parallel"
	if hasQueryName(query, "mode") {
		value, ok := firstQueryValue(query, "mode")
		if !ok || (value != "parallel" && value != "sequential") {
			replyError(w, http.StatusBadRequest, false)
			return
		}
		mode = value
	}
	ctx := r.Context()
	if hasQueryName(query, "deadline_ms") {
		deadlineMs, ok := boundedParam(r, "deadline_ms", maxDeadlineMs)
		if !ok || deadlineMs < 1 {
			replyError(w, http.StatusBadRequest, false)
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(deadlineMs)*time.Millisecond)
		defer cancel()
	}
	if downstream == nil {
		replyError(w, http.StatusBadGateway, false)
		return
	}

	calls, err := downstream.fanOut(ctx, fanout, ms, mode == "sequential")
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			replyError(w, http.StatusGatewayTimeout, false)
		} else {
			replyError(w, http.StatusBadGateway, false)
		}
		return
	}
	body, err := json.Marshal(gatewayReply{Fanout: fanout, Mode: mode, Calls: calls})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	reply(w, http.StatusOK, "application/json", string(body))
}

// hasQueryName reports whether any pair of rawQuery has the raw name name: an optional
// parameter is absent only when no pair names it ("mode", "mode=" and "mode=%zz" are present
// and invalid).
func hasQueryName(rawQuery, name string) bool {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if key, _, _ := strings.Cut(pair, "="); key == name {
			return true
		}
	}
	return false
}

// parseDownstreamFlag checks --downstream's HOST:PORT up front, so a typo fails at start and
// not as a 502 on every request.
func parseDownstreamFlag(hostPort string) error {
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("bad port in %q", hostPort)
	}
	return nil
}
