package warehouse

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edgeid/edgeid/daemon/warehouse/pgtest"
)

// benchMsgs builds n records from 50 kiosks, interleaved as a broker delivers them.
func benchMsgs(b *testing.B, n int) []Msg {
	const nk = 50
	ks := make([]*kiosk, nk)
	for i := range ks {
		ks[i] = newKiosk(b, fmt.Sprintf("kiosk-%d", i), (n+nk-1)/nk)
	}
	out := make([]Msg, 0, n)
	for j := 0; len(out) < n; j++ {
		for _, k := range ks {
			if len(out) < n {
				out = append(out, Msg{Kiosk: k.id, Raw: k.raws[j]})
			}
		}
	}
	return out
}

// BenchmarkWarehouseIngest: b.N records through 1, 2 and 4 replicas, each taking batches of
// 64 dealt round robin (a kiosk's records spread over replicas, as with $share). Reports
// records/s and the p99 of a batch's insert-to-head time (what a record waits for its ack,
// less the broker and the ack interval).
func BenchmarkWarehouseIngest(b *testing.B) {
	pg := pgtest.Start(b)
	for _, replicas := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			msgs := benchMsgs(b, b.N)
			dsn := pg.NewDB(b)
			ws := make([]*DB, replicas)
			for i := range ws {
				ws[i] = open(b, dsn, nil)
			}
			const batch = 64
			var mu sync.Mutex
			var lat []time.Duration
			b.ResetTimer()
			var wg sync.WaitGroup
			for r := 0; r < replicas; r++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := r * batch; i < len(msgs); i += replicas * batch {
						t := time.Now()
						if _, err := ws[r].Ingest(context.Background(), msgs[i:min(i+batch, len(msgs))]); err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						lat = append(lat, time.Since(t))
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-batch-ms")
			}
			heads, _ := ws[0].Heads(context.Background())
			total := uint64(0)
			for _, h := range heads {
				total += h.Seq
			}
			if int(total) != b.N {
				b.Fatalf("heads sum to %d, want %d", total, b.N)
			}
		})
	}
}

// BenchmarkWarehouseRawInsert: the same rows inserted from one connection in batches of 64,
// one transaction each, with no chain following: the database's own ceiling here.
func BenchmarkWarehouseRawInsert(b *testing.B) {
	pg := pgtest.Start(b)
	msgs := benchMsgs(b, b.N)
	dsn := pg.NewDB(b)
	open(b, dsn, nil) // the schema
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	var rows []row
	for _, m := range msgs {
		r, err := parseRow(m)
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, r)
	}
	b.ResetTimer()
	for i := 0; i < len(rows); i += 64 {
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			bt := &pgx.Batch{}
			for _, rw := range rows[i:min(i+64, len(rows))] {
				r := rw.r
				bt.Queue(`INSERT INTO records (kiosk, seq, hash, prev, time, flow, outcome, reasons, distance, raw)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
					r.Kiosk, int64(r.Seq), r.Hash, r.Prev, r.Time, r.Flow, r.Outcome, append([]string{}, r.Reasons...), rw.distance, rw.raw)
			}
			return tx.SendBatch(ctx, bt).Close()
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
