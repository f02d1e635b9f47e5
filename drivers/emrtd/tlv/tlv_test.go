package tlv

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseTLV(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		wantTags  []Tag
		wantValue [][]byte
	}{
		{"primitive", []byte{0x04, 0x02, 0xAA, 0xBB}, []Tag{0x04}, [][]byte{{0xAA, 0xBB}}},
		{"two objects", []byte{0x02, 0x01, 0x05, 0x05, 0x00}, []Tag{0x02, 0x05}, [][]byte{{0x05}, {}}},
		{"two-byte tag", []byte{0x5F, 0x1F, 0x01, 0x41}, []Tag{0x5F1F}, [][]byte{{0x41}}},
		{"three-byte tag", []byte{0x9F, 0x81, 0x01, 0x00}, []Tag{0x9F8101}, [][]byte{{}}},
		{"long length 81", append([]byte{0x04, 0x81, 0x80}, make([]byte, 0x80)...), []Tag{0x04}, [][]byte{make([]byte, 0x80)}},
		{"long length 82", append([]byte{0x04, 0x82, 0x01, 0x00}, make([]byte, 0x100)...), []Tag{0x04}, [][]byte{make([]byte, 0x100)}},
		{"application constructed", []byte{0x61, 0x03, 0x5F, 0x1F, 0x00}, []Tag{0x61}, [][]byte{{0x5F, 0x1F, 0x00}}},
		{"indefinite", []byte{0x30, 0x80, 0x02, 0x01, 0x07, 0x00, 0x00}, []Tag{0x30}, [][]byte{{0x02, 0x01, 0x07}}},
		{"empty input", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTLV(tt.in)
			if err != nil {
				t.Fatalf("ParseTLV(% X) error: %v", tt.in, err)
			}
			if len(got) != len(tt.wantTags) {
				t.Fatalf("got %d objects, want %d", len(got), len(tt.wantTags))
			}
			for i := range got {
				if got[i].Tag != tt.wantTags[i] {
					t.Errorf("object %d: got tag %s, want %s", i, got[i].Tag, tt.wantTags[i])
				}
				if !bytes.Equal(got[i].Value, tt.wantValue[i]) {
					t.Errorf("object %d: got value % X, want % X", i, got[i].Value, tt.wantValue[i])
				}
			}
		})
	}
}

func TestParseTLVNested(t *testing.T) {
	// 77 { 30 80 { 04 01 AA } 00 00 } with an indefinite inner SEQUENCE, as real SODs have.
	in := []byte{0x77, 0x09, 0x30, 0x80, 0x04, 0x01, 0xAA, 0x00, 0x00, 0x01, 0x00}
	got, err := ParseTLV(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Children) != 2 {
		t.Fatalf("got %+v, want one object with two children", got)
	}
	seq := got[0].Children[0]
	if !seq.Indefinite || seq.Offset != 2 || len(seq.Raw) != 7 {
		t.Errorf("inner sequence: got indefinite=%v offset=%d raw=%d bytes, want true 2 7", seq.Indefinite, seq.Offset, len(seq.Raw))
	}
	if oct, ok := seq.Find(0x04); !ok || oct.Offset != 4 || !bytes.Equal(oct.Value, []byte{0xAA}) {
		t.Errorf("Find(04): got %+v %v", oct, ok)
	}
	if tag := got[0].Tag; tag.Class() != ClassApplication || !tag.Constructed() {
		t.Errorf("tag 77: got class %s constructed %v, want application true", tag.Class(), tag.Constructed())
	}
	if c := Tag(0xA0).Class(); c != ClassContext {
		t.Errorf("tag A0 class: got %s, want context", c)
	}
	if c := Tag(0x5F1F).Class(); c != ClassApplication || Tag(0x5F1F).Constructed() {
		t.Errorf("tag 5F1F: got %s constructed=%v, want application primitive", c, Tag(0x5F1F).Constructed())
	}
	// Re-encoding makes every length definite.
	want := []byte{0x77, 0x07, 0x30, 0x03, 0x04, 0x01, 0xAA, 0x01, 0x00}
	if enc := got[0].Encode(); !bytes.Equal(enc, want) {
		t.Errorf("Encode: got % X, want % X", enc, want)
	}
}

func TestParseTLVErrors(t *testing.T) {
	deep := bytes.Repeat([]byte{0x30, 0x80}, MaxTLVDepth+2)
	tests := []struct {
		name      string
		in        []byte
		wantMsg   string
		truncated bool
	}{
		{"no length", []byte{0x04}, "offset 1: missing length", true},
		{"short value", []byte{0x04, 0x05, 0x01}, "length 5 but only 1 bytes left", true},
		{"length field truncated", []byte{0x04, 0x82, 0x01}, "length field input truncated", true},
		{"length overflow", []byte{0x04, 0x85, 1, 2, 3, 4, 5}, "length field of 5 bytes overflows", false},
		{"length over limit", []byte{0x04, 0x84, 0x7F, 0xFF, 0xFF, 0xFF}, "exceeds the limit", false},
		{"reserved length", []byte{0x04, 0xFF}, "reserved length byte", false},
		{"tag truncated", []byte{0x5F}, "multi-byte tag input truncated", true},
		{"tag too long", []byte{0x5F, 0x81, 0x81, 0x81, 0x01, 0x00}, "tag longer than 4 bytes", false},
		{"indefinite primitive", []byte{0x04, 0x80, 0x00, 0x00}, "indefinite length on a primitive", false},
		{"indefinite unterminated", []byte{0x30, 0x80, 0x02, 0x01, 0x00}, "without end-of-contents", true},
		{"deep nesting", deep, "nesting deeper than 32", false},
		{"child overruns parent", []byte{0x30, 0x02, 0x04, 0x05}, "tag 04 at offset 2: length 5 but only 0 bytes left", true},
		{"stray end-of-contents", []byte{0x00, 0x00}, "unexpected end-of-contents", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTLV(tt.in)
			if err == nil {
				t.Fatalf("ParseTLV(% X): got no error, want %q", tt.in, tt.wantMsg)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got error %q, want it to contain %q", err, tt.wantMsg)
			}
			if got := errors.Is(err, ErrTruncated); got != tt.truncated {
				t.Errorf("errors.Is(err, ErrTruncated): got %v, want %v", got, tt.truncated)
			}
		})
	}
}

func TestEncodeTLV(t *testing.T) {
	tests := []struct {
		tag  Tag
		n    int
		want []byte // header
	}{
		{0x04, 0, []byte{0x04, 0x00}},
		{0x04, 0x7F, []byte{0x04, 0x7F}},
		{0x5F1F, 0x80, []byte{0x5F, 0x1F, 0x81, 0x80}},
		{0x5F2E, 0x100, []byte{0x5F, 0x2E, 0x82, 0x01, 0x00}},
		{0x04, 0x10000, []byte{0x04, 0x83, 0x01, 0x00, 0x00}},
	}
	for _, tt := range tests {
		got := EncodeTLV(tt.tag, make([]byte, tt.n))
		if !bytes.Equal(got[:len(tt.want)], tt.want) || len(got) != len(tt.want)+tt.n {
			t.Errorf("EncodeTLV(%s, %d bytes): got header % X (total %d), want % X", tt.tag, tt.n, got[:len(tt.want)], len(got), tt.want)
			continue
		}
		back, err := ParseTLVExpect(got, tt.tag)
		if err != nil || len(back.Value) != tt.n {
			t.Errorf("round trip %s: got %d bytes, err %v", tt.tag, len(back.Value), err)
		}
	}
	if _, err := ParseTLVExpect([]byte{0x04, 0x00, 0x00}, 0x04); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Errorf("ParseTLVExpect with trailing byte: got %v, want a trailing-bytes error", err)
	}
	if _, err := ParseTLVExpect([]byte{0x04, 0x00}, 0x05); err == nil {
		t.Error("ParseTLVExpect with the wrong tag: got no error")
	}
}

func FuzzParseTLV(f *testing.F) {
	f.Add([]byte{0x77, 0x09, 0x30, 0x80, 0x04, 0x01, 0xAA, 0x00, 0x00, 0x01, 0x00})
	f.Add([]byte{0x5F, 0x1F, 0x01, 0x41})
	f.Add([]byte{0x04, 0x84, 0x7F, 0xFF, 0xFF, 0xFF})
	f.Add(bytes.Repeat([]byte{0x30, 0x80}, 40))
	f.Add([]byte{0x61, 0x03, 0x5F, 0x1F, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := ParseTLV(b)
		if err != nil {
			return
		}
		// Whatever parsed must re-encode to something that parses to the same tags.
		for i := range objs {
			enc := objs[i].Encode()
			back, err := ParseTLVExpect(enc, objs[i].Tag)
			if err != nil {
				t.Fatalf("re-encoded object %d does not parse: %v", i, err)
			}
			if len(back.Children) != len(objs[i].Children) {
				t.Fatalf("object %d: %d children after re-encoding, want %d", i, len(back.Children), len(objs[i].Children))
			}
		}
	})
}
