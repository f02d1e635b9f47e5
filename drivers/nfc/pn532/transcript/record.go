package transcript

import (
	"sync"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// I2CRecorder is an i2c.Bus that passes every transaction to Bus and records it, failed ones
// included (with what was read so far).
type I2CRecorder struct {
	Bus i2c.Bus

	mu sync.Mutex
	t  Transcript
}

var _ i2c.Bus = &I2CRecorder{}

// String implements conn.Resource.
func (r *I2CRecorder) String() string { return "record(" + r.Bus.String() + ")" }

// SetSpeed implements i2c.Bus.
func (r *I2CRecorder) SetSpeed(f physic.Frequency) error { return r.Bus.SetSpeed(f) }

// Tx implements i2c.Bus.
func (r *I2CRecorder) Tx(addr uint16, w, rd []byte) error {
	err := r.Bus.Tx(addr, w, rd)
	r.mu.Lock()
	r.t.add(addr, w, rd)
	r.mu.Unlock()
	return err
}

// Transcript returns what was recorded so far.
func (r *I2CRecorder) Transcript(comment string) Transcript {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Transcript{Comment: comment, Bus: "i2c", Ops: append([]Op(nil), r.t.Ops...)}
}

// SPIRecorder is an spi.PortCloser whose connections pass every transfer to Port's and record
// it.
type SPIRecorder struct {
	Port spi.PortCloser

	mu sync.Mutex
	t  Transcript
}

var _ spi.PortCloser = &SPIRecorder{}

// String implements conn.Resource.
func (r *SPIRecorder) String() string { return "record(" + r.Port.String() + ")" }

// Close implements spi.PortCloser.
func (r *SPIRecorder) Close() error { return r.Port.Close() }

// LimitSpeed implements spi.Port.
func (r *SPIRecorder) LimitSpeed(f physic.Frequency) error { return r.Port.LimitSpeed(f) }

// Connect implements spi.Port.
func (r *SPIRecorder) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	c, err := r.Port.Connect(f, mode, bits)
	if err != nil {
		return nil, err
	}
	return &spiConn{c: c, r: r}, nil
}

// Transcript returns what was recorded so far.
func (r *SPIRecorder) Transcript(comment string) Transcript {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Transcript{Comment: comment, Bus: "spi", Ops: append([]Op(nil), r.t.Ops...)}
}

type spiConn struct {
	c spi.Conn
	r *SPIRecorder
}

func (s *spiConn) String() string      { return s.c.String() }
func (s *spiConn) Duplex() conn.Duplex { return s.c.Duplex() }

func (s *spiConn) Tx(w, rd []byte) error {
	err := s.c.Tx(w, rd)
	s.r.mu.Lock()
	s.r.t.add(0, w, rd)
	s.r.mu.Unlock()
	return err
}

func (s *spiConn) TxPackets(p []spi.Packet) error {
	err := s.c.TxPackets(p)
	s.r.mu.Lock()
	for _, pk := range p {
		s.r.t.add(0, pk.W, pk.R)
	}
	s.r.mu.Unlock()
	return err
}
