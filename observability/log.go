package observability

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

type requestIDKey struct{}

// WithRequestID returns a context carrying the request id, so that every log
// record written with that context (and every error presented to a client)
// can be correlated with the request.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id stored by WithRequestID, or "" when the
// context carries none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// TraceID returns the hex trace id of the span in ctx, or "" when there is no
// valid span. The id exists even when the span is not sampled, so clients can
// always quote it.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// SpanID returns the hex span id of the span in ctx, or "" when there is no
// valid span.
func SpanID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasSpanID() {
		return ""
	}
	return sc.SpanID().String()
}

// redactedKeys are attribute keys that name personal data. A log call that
// uses one of them is a bug; redacting here keeps the bug from becoming a
// leak while the call is fixed.
var redactedKeys = map[string]bool{
	"name": true, "first_name": true, "last_name": true, "given_name": true,
	"family_name": true, "full_name": true, "email": true, "phone": true,
	"mobile": true, "national_id": true, "iqama": true, "birth_date": true,
	"dob": true, "address": true, "password": true, "token": true,
	"access_token": true, "refresh_token": true, "authorization": true,
	"variables": true, "args": true, "params": true, "body": true,
}

// Redacted replaces the value of any attribute whose key names personal data.
const Redacted = "[REDACTED]"

// NewLogger returns a JSON logger writing to w at the given level. Every
// record logged with a context (InfoContext, ErrorContext, ...) carries
// trace_id and span_id of the span in that context and request_id from
// WithRequestID, when present. Attributes whose keys name personal data
// (email, phone, national_id, name, password, token, variables, ...) are
// replaced with "[REDACTED]" as a last line of defence.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if redactedKeys[strings.ToLower(a.Key)] {
				return slog.String(a.Key, Redacted)
			}
			return a
		},
	})
	return slog.New(contextHandler{h})
}

// contextHandler adds correlation ids from the record's context; it wraps
// rather than replaces the JSON handler so level, grouping and redaction stay
// the standard library's.
type contextHandler struct{ slog.Handler }

// Handle adds trace_id, span_id and request_id before delegating.
func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(
				slog.String("trace_id", sc.TraceID().String()),
				slog.String("span_id", sc.SpanID().String()),
			)
		}
		if id := RequestID(ctx); id != "" {
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the context handler on derived loggers.
func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the context handler on derived loggers.
func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
