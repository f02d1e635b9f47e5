package lds

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// ImageFormat names the encoding of a face image held in DG2.
type ImageFormat string

// Image formats found in DG2.
const (
	ImageJPEG     ImageFormat = "jpeg"
	ImageJPEG2000 ImageFormat = "jpeg2000"
)

// maxFaces bounds the number of face records accepted in one DG2.
const maxFaces = 16

// DG2 is the encoded face data group.
type DG2 struct {
	Faces []FaceImage
}

// FaceImage is one face image from DG2 and the metadata recorded with it.
type FaceImage struct {
	Format        ImageFormat
	Width, Height int
	Image         []byte // JPEG or JPEG2000 bytes, a sub-slice of the input

	// Standard is "ISO/IEC 19794-5" or "ISO/IEC 39794-5".
	Standard string
	// Version is the 19794-5 record version, e.g. "010".
	Version string
	// Gender, EyeColour, HairColour, Expression are the 19794-5 codes (0 = unspecified).
	Gender, EyeColour, HairColour int
	Expression                    int
	// FeaturePoints is the number of facial feature points recorded.
	FeaturePoints int
	// FaceImageType: 0 basic, 1 full frontal, 2 token frontal.
	FaceImageType int
	// ColourSpace, SourceType, DeviceType and Quality are the 19794-5 image information fields.
	ColourSpace, SourceType int
	DeviceType, Quality     int
}

// DG2Error reports a malformed DG2 with the byte offset of the problem.
type DG2Error struct {
	Offset int
	Msg    string
}

func (e *DG2Error) Error() string { return fmt.Sprintf("dg2: offset %d: %s", e.Offset, e.Msg) }

// ParseDG2 parses a whole DG2 (tag 0x75) or a bare ISO/IEC 19794-5 record ("FAC\0...").
// Both the 19794-5 (tag 5F2E) and the 39794-5 (tag 7F2E) encodings are accepted.
func ParseDG2(b []byte) (*DG2, error) {
	if bytes.HasPrefix(b, []byte("FAC\x00")) {
		faces, err := parseFAC(b, 0)
		if err != nil {
			return nil, err
		}
		return &DG2{Faces: faces}, nil
	}
	top, err := tlv.ParseTLVExpect(b, 0x75)
	if err != nil {
		return nil, fmt.Errorf("dg2: %w", err)
	}
	grp, ok := top.Find(0x7F61)
	if !ok {
		return nil, &DG2Error{Offset: top.Offset, Msg: "no biometric information group template (7F61)"}
	}
	d := &DG2{}
	for _, bit := range grp.FindAll(0x7F60) {
		if len(d.Faces) >= maxFaces {
			return nil, &DG2Error{Offset: bit.Offset, Msg: fmt.Sprintf("more than %d face records", maxFaces)}
		}
		if data, ok := bit.Find(0x5F2E); ok {
			faces, err := parseFAC(data.Value, data.Offset+len(data.Raw)-len(data.Value))
			if err != nil {
				return nil, err
			}
			d.Faces = append(d.Faces, faces...)
			continue
		}
		if data, ok := bit.Find(0x7F2E); ok {
			f, err := parse39794(data)
			if err != nil {
				return nil, err
			}
			d.Faces = append(d.Faces, f)
			continue
		}
		return nil, &DG2Error{Offset: bit.Offset, Msg: "biometric information template without biometric data block (5F2E or 7F2E)"}
	}
	if len(d.Faces) == 0 {
		return nil, &DG2Error{Offset: grp.Offset, Msg: "no face record"}
	}
	if len(d.Faces) > maxFaces {
		return nil, &DG2Error{Offset: grp.Offset, Msg: fmt.Sprintf("more than %d face records", maxFaces)}
	}
	return d, nil
}

// parseFAC parses an ISO/IEC 19794-5:2005 facial record: general header then face records.
func parseFAC(b []byte, base int) ([]FaceImage, error) {
	const genHdr = 14
	if len(b) < genHdr {
		return nil, &DG2Error{Offset: base, Msg: fmt.Sprintf("19794-5 general header needs %d bytes, have %d", genHdr, len(b))}
	}
	if !bytes.Equal(b[:4], []byte("FAC\x00")) {
		return nil, &DG2Error{Offset: base, Msg: fmt.Sprintf("format identifier % X is not \"FAC\\0\"", b[:4])}
	}
	version := string(bytes.TrimRight(b[4:8], "\x00"))
	recLen := binary.BigEndian.Uint32(b[8:12])
	n := int(binary.BigEndian.Uint16(b[12:14]))
	if uint64(recLen) > uint64(len(b)) || recLen < genHdr {
		return nil, &DG2Error{Offset: base + 8, Msg: fmt.Sprintf("record length %d does not fit the %d bytes present", recLen, len(b))}
	}
	if n == 0 || n > maxFaces {
		return nil, &DG2Error{Offset: base + 12, Msg: fmt.Sprintf("number of faces %d out of range 1..%d", n, maxFaces)}
	}
	b = b[:recLen]
	off := genHdr
	var out []FaceImage
	for i := 0; i < n; i++ {
		const fixed = 20 + 12
		if len(b)-off < fixed {
			return nil, &DG2Error{Offset: base + off, Msg: fmt.Sprintf("face %d: header truncated", i+1)}
		}
		r := b[off:]
		blockLen := int(binary.BigEndian.Uint32(r[0:4]))
		if blockLen < fixed || blockLen > len(r) {
			return nil, &DG2Error{Offset: base + off, Msg: fmt.Sprintf("face %d: block length %d out of range %d..%d", i+1, blockLen, fixed, len(r))}
		}
		r = r[:blockLen]
		nfp := int(binary.BigEndian.Uint16(r[4:6]))
		imgInfo := 20 + 8*nfp
		if imgInfo+12 > blockLen {
			return nil, &DG2Error{Offset: base + off + 4, Msg: fmt.Sprintf("face %d: %d feature points do not fit a block of %d bytes", i+1, nfp, blockLen)}
		}
		f := FaceImage{
			Standard:      "ISO/IEC 19794-5",
			Version:       version,
			FeaturePoints: nfp,
			Gender:        int(r[6]),
			EyeColour:     int(r[7]),
			HairColour:    int(r[8]),
			Expression:    int(binary.BigEndian.Uint16(r[12:14])),
		}
		ii := r[imgInfo:]
		f.FaceImageType = int(ii[0])
		switch ii[1] {
		case 0:
			f.Format = ImageJPEG
		case 1:
			f.Format = ImageJPEG2000
		default:
			return nil, &DG2Error{Offset: base + off + imgInfo + 1, Msg: fmt.Sprintf("face %d: unknown image data type %d", i+1, ii[1])}
		}
		f.Width = int(binary.BigEndian.Uint16(ii[2:4]))
		f.Height = int(binary.BigEndian.Uint16(ii[4:6]))
		f.ColourSpace = int(ii[6])
		f.SourceType = int(ii[7])
		f.DeviceType = int(binary.BigEndian.Uint16(ii[8:10]))
		f.Quality = int(binary.BigEndian.Uint16(ii[10:12]))
		f.Image = r[imgInfo+12:]
		if len(f.Image) == 0 {
			return nil, &DG2Error{Offset: base + off + imgInfo + 12, Msg: fmt.Sprintf("face %d: empty image", i+1)}
		}
		if got := sniffImage(f.Image); got != f.Format {
			return nil, &DG2Error{Offset: base + off + imgInfo + 12, Msg: fmt.Sprintf("face %d: header says %s but the image bytes are %s", i+1, f.Format, orUnknown(got))}
		}
		out = append(out, f)
		off += blockLen
	}
	return out, nil
}

func orUnknown(f ImageFormat) string {
	if f == "" {
		return "not a known image format"
	}
	return string(f)
}

// sniffImage recognises JPEG and JPEG2000 (JP2 file or bare codestream) by their signatures.
func sniffImage(b []byte) ImageFormat {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return ImageJPEG
	case bytes.HasPrefix(b, []byte{0x00, 0x00, 0x00, 0x0C, 'j', 'P', 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A}),
		bytes.HasPrefix(b, []byte{0xFF, 0x4F, 0xFF, 0x51}):
		return ImageJPEG2000
	}
	return ""
}

// parse39794 extracts the image from an ISO/IEC 39794-5 face data block (tag 7F2E). The
// block is a BER tree with context-specific tags; the image is the representation's first
// octet string holding a JPEG or JPEG2000 signature, and width and height are read from
// the image's own header.
func parse39794(t *tlv.TLV) (FaceImage, error) {
	img := findImage(t.Children, 0)
	if img == nil {
		return FaceImage{}, &DG2Error{Offset: t.Offset, Msg: "39794-5 block holds no JPEG or JPEG2000 image"}
	}
	f := FaceImage{Standard: "ISO/IEC 39794-5", Format: sniffImage(img), Image: img}
	w, h, err := imageSize(img)
	if err != nil {
		return FaceImage{}, &DG2Error{Offset: t.Offset, Msg: fmt.Sprintf("39794-5 image: %v", err)}
	}
	f.Width, f.Height = w, h
	return f, nil
}

func findImage(ts []tlv.TLV, depth int) []byte {
	for i := range ts {
		if !ts[i].Tag.Constructed() {
			if sniffImage(ts[i].Value) != "" {
				return ts[i].Value
			}
			continue
		}
		if img := findImage(ts[i].Children, depth+1); img != nil {
			return img
		}
	}
	return nil
}

// imageSize reads width and height from a JPEG SOF marker, a JP2 ihdr box or a J2K SIZ marker.
func imageSize(b []byte) (int, int, error) {
	switch sniffImage(b) {
	case ImageJPEG:
		for i := 2; i+9 < len(b); {
			if b[i] != 0xFF {
				return 0, 0, errors.New("jpeg: marker expected")
			}
			m := b[i+1]
			if m == 0xFF {
				i++
				continue
			}
			l := int(binary.BigEndian.Uint16(b[i+2:]))
			if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
				return int(binary.BigEndian.Uint16(b[i+7:])), int(binary.BigEndian.Uint16(b[i+5:])), nil
			}
			if l < 2 {
				return 0, 0, errors.New("jpeg: bad segment length")
			}
			i += 2 + l
		}
		return 0, 0, errors.New("jpeg: no frame header")
	case ImageJPEG2000:
		if i := bytes.Index(b, []byte("ihdr")); i >= 0 && i+12 <= len(b) {
			return int(binary.BigEndian.Uint32(b[i+8:])), int(binary.BigEndian.Uint32(b[i+4:])), nil
		}
		if i := bytes.Index(b, []byte{0xFF, 0x51}); i >= 0 && i+22 <= len(b) {
			xs, ys := binary.BigEndian.Uint32(b[i+6:]), binary.BigEndian.Uint32(b[i+10:])
			xo, yo := binary.BigEndian.Uint32(b[i+14:]), binary.BigEndian.Uint32(b[i+18:])
			if xs >= xo && ys >= yo {
				return int(xs - xo), int(ys - yo), nil
			}
		}
		return 0, 0, errors.New("jpeg2000: no image header")
	}
	return 0, 0, errors.New("not a JPEG or JPEG2000 image")
}

// EncodeDG2 builds a DG2 (tag 0x75) holding one ISO/IEC 19794-5 record per face. Format,
// Width, Height and Image are taken from each face, with full-frontal image type.
func EncodeDG2(faces []FaceImage) ([]byte, error) {
	if len(faces) == 0 || len(faces) > maxFaces {
		return nil, fmt.Errorf("dg2: %d faces, want 1..%d", len(faces), maxFaces)
	}
	bits := [][]byte{tlv.EncodeTLV(0x02, []byte{byte(len(faces))})}
	for i, f := range faces {
		var dt byte
		switch f.Format {
		case ImageJPEG:
			dt = 0
		case ImageJPEG2000:
			dt = 1
		default:
			return nil, fmt.Errorf("dg2: face %d: unsupported format %q", i+1, f.Format)
		}
		if f.Width <= 0 || f.Width > 0xFFFF || f.Height <= 0 || f.Height > 0xFFFF {
			return nil, fmt.Errorf("dg2: face %d: size %dx%d out of range", i+1, f.Width, f.Height)
		}
		block := make([]byte, 32, 32+len(f.Image))
		binary.BigEndian.PutUint32(block[0:], uint32(32+len(f.Image)))
		block[6], block[7], block[8] = byte(f.Gender), byte(f.EyeColour), byte(f.HairColour)
		block[20] = 1 // full frontal
		block[21] = dt
		binary.BigEndian.PutUint16(block[22:], uint16(f.Width))
		binary.BigEndian.PutUint16(block[24:], uint16(f.Height))
		block[26] = byte(f.ColourSpace)
		block = append(block, f.Image...)
		rec := make([]byte, 14, 14+len(block))
		copy(rec, "FAC\x00010\x00")
		binary.BigEndian.PutUint32(rec[8:], uint32(14+len(block)))
		binary.BigEndian.PutUint16(rec[12:], 1)
		rec = append(rec, block...)
		// Biometric header template: ICAO header version, type face (0x02), subtype none,
		// format owner ISO/IEC JTC1 SC37 (0x0101), format type 0x0008.
		bht := tlv.EncodeConstructed(0xA1,
			tlv.EncodeTLV(0x80, []byte{0x01, 0x01}),
			tlv.EncodeTLV(0x81, []byte{0x02}),
			tlv.EncodeTLV(0x87, []byte{0x01, 0x01}),
			tlv.EncodeTLV(0x88, []byte{0x00, 0x08}))
		bits = append(bits, tlv.EncodeConstructed(0x7F60, bht, tlv.EncodeTLV(0x5F2E, rec)))
	}
	return tlv.EncodeTLV(0x75, tlv.EncodeConstructed(0x7F61, bits...)), nil
}

// ImageSize reads width and height from a JPEG or JPEG2000 image's own header.
func ImageSize(b []byte) (width, height int, err error) { return imageSize(b) }

// SniffImage reports whether b starts like a JPEG or a JPEG2000 image ("" if neither).
func SniffImage(b []byte) ImageFormat { return sniffImage(b) }
