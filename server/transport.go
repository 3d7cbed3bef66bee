package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// postTransport is gqlgen's POST transport, writing responses without
// encoding their data twice. gqlgen's writes the whole response with
// json.Marshal, which validates and compacts the data the executor has
// just written as compact JSON: two more passes over every byte of a page,
// about 5 % of the headline's CPU. This one writes the data as it is,
// HTML-escaped as json.Marshal would, so the bytes sent are the same.
//
// It answers the common request itself (a JSON body, a client that takes
// application/json) and hands every other one to gqlgen's transport, so
// unreadable bodies and the graphql-response+json media type behave
// exactly as gqlgen's.
type postTransport struct{ transport.POST }

var _ graphql.Transport = postTransport{}

// Do answers one POSTed operation.
func (t postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	var params graphql.RawParams
	if err == nil {
		err = decodeParams(body, &params)
	}
	if err != nil || !takesPlainJSON(r.Header.Get("Accept")) {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
		t.POST.Do(w, r, exec)
		return
	}
	w.Header().Add("Content-Type", "application/json")
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	ctx := r.Context()
	op, errs := exec.CreateOperationContext(ctx, &params)
	if errs != nil {
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, op), errs))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, op)
	writeResponse(w, responses(ctx))
}

// decodeParams reads a request body as gqlgen's transport does: numbers
// in variables stay json.Number.
func decodeParams(body []byte, params *graphql.RawParams) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(params)
}

// takesPlainJSON reports whether gqlgen's transport would answer a client
// sending accept with application/json: no Accept, or the first media
// type it knows of is application/json or a wildcard.
func takesPlainJSON(accept string) bool {
	if accept == "" {
		return true
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", "application/json":
			return true
		case "application/graphql-response+json":
			return false
		}
	}
	return false
}

// writeResponse writes resp as json.Marshal would, field for field, but
// copies its data, already compact JSON, with only the HTML escaping
// json.Marshal applies. The data, tens of kilobytes for a page, goes to w
// as it is whenever it needs no escaping, rather than through a buffer of
// its size, and an http.ResponseWriter is told the length first.
func writeResponse(w io.Writer, resp *graphql.Response) {
	var head, tail bytes.Buffer
	head.WriteByte('{')
	if len(resp.Errors) > 0 {
		writeMember(&head, "errors", resp.Errors)
		head.WriteByte(',')
	}
	head.WriteString(`"data":`)
	data := resp.Data
	if len(data) == 0 {
		data = []byte("null")
	} else if needsHTMLEscape(data) {
		var escaped bytes.Buffer
		json.HTMLEscape(&escaped, data)
		data = escaped.Bytes()
	}
	if resp.Label != "" {
		tail.WriteByte(',')
		writeMember(&tail, "label", resp.Label)
	}
	if len(resp.Path) > 0 {
		tail.WriteByte(',')
		writeMember(&tail, "path", resp.Path)
	}
	if resp.HasNext != nil {
		tail.WriteByte(',')
		writeMember(&tail, "hasNext", *resp.HasNext)
	}
	if len(resp.Extensions) > 0 {
		tail.WriteByte(',')
		writeMember(&tail, "extensions", resp.Extensions)
	}
	tail.WriteByte('}')
	if rw, ok := w.(http.ResponseWriter); ok {
		rw.Header().Set("Content-Length", strconv.Itoa(head.Len()+len(data)+tail.Len()))
	}
	// A client gone away is not ours to report.
	_, _ = w.Write(head.Bytes())
	_, _ = w.Write(data)
	_, _ = w.Write(tail.Bytes())
}

// needsHTMLEscape reports whether json.HTMLEscape would change data. Most
// responses hold nothing it escapes, and IndexByte finds that out several
// times faster than its byte-by-byte copy: 0xE2 leads the UTF-8 of U+2028
// and U+2029, the two runes it escapes beside <, > and &.
func needsHTMLEscape(data []byte) bool {
	for _, c := range []byte{'<', '>', '&', 0xE2} {
		if bytes.IndexByte(data, c) >= 0 {
			return true
		}
	}
	return false
}

// writeMember writes "name":value. The members of a response always
// marshal; one that does not panics, as in gqlgen's transport, and the
// recoverer answers INTERNAL and logs it.
func writeMember(buf *bytes.Buffer, name string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Errorf("graphql response %s: %w", name, err))
	}
	buf.WriteString(`"` + name + `":`)
	buf.Write(b)
}
