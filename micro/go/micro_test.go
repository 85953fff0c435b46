// Go counterparts of the C++ micro-benchmarks (docs/micro-benchmarks.md): goroutine spawn,
// channel ping-pong, memory per idle goroutine and skynet. Run with `go test -bench .`;
// micro/run reads the standard benchmark lines, including the extra metrics reported here
// (ns/switch, bytes/goroutine, answer).
package micro

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkSpawn: start one goroutine and wait for it to finish.
func BenchmarkSpawn(b *testing.B) {
	var wg sync.WaitGroup
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
		wg.Wait()
	}
}

// BenchmarkPingPong: two goroutines hand a token back and forth over unbuffered channels;
// each op is two hand-offs.
func BenchmarkPingPong(b *testing.B) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ping <- i
		<-pong
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(ping)
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(2*b.N), "ns/switch")
}

// residentBytes reads the process's RSS from /proc/self/statm, as the C++ side does.
func residentBytes(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(data))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

const idleUnits = 10000

// BenchmarkIdleGoroutineMemory: RSS growth while 10,000 goroutines block on one channel.
// Only the first iteration counts: later ones reuse the freed goroutines and stacks, so the
// process does not grow again. micro/run runs it with -benchtime 1x in a fresh process.
func BenchmarkIdleGoroutineMemory(b *testing.B) {
	var perUnit float64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		release := make(chan struct{})
		var started, finished sync.WaitGroup
		started.Add(idleUnits)
		finished.Add(idleUnits)
		before := residentBytes(b)
		for u := 0; u < idleUnits; u++ {
			go func() {
				started.Done()
				<-release
				finished.Done()
			}()
		}
		started.Wait()
		after := residentBytes(b)
		close(release)
		finished.Wait()
		if i == 0 {
			perUnit = float64(after-before) / idleUnits
		}
	}
	if perUnit <= 0 {
		b.Fatalf("RSS did not grow (%.0f bytes per goroutine)", perUnit)
	}
	b.ReportMetric(perUnit, "bytes/goroutine")
}

// skynet: each node starts ten child goroutines and sums what they send back.
func skynet(result chan<- int64, num, size int64) {
	if size == 1 {
		result <- num
		return
	}
	children := make(chan int64, 10)
	for i := int64(0); i < 10; i++ {
		go skynet(children, num+i*(size/10), size/10)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-children
	}
	result <- sum
}

const skynetLeaves = 1000000

func BenchmarkSkynet(b *testing.B) {
	var answer int64
	for i := 0; i < b.N; i++ {
		result := make(chan int64)
		go skynet(result, 0, skynetLeaves)
		answer = <-result
	}
	if want := int64(skynetLeaves) * (skynetLeaves - 1) / 2; answer != want {
		b.Fatalf("skynet answer %d, want %d", answer, want)
	}
	b.ReportMetric(float64(answer), "answer")
}
