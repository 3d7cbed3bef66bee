package check

import (
	"strings"
	"testing"
)

// Bad values must be refused before anything reaches a cluster, with a message
// that says what is wrong. These are the same files .ci/deploy-checks.sh feeds to
// `helm template`, which must fail on each.
func TestBadValuesAreRefusedWithAClearMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"missing-secret", []string{"the database secret is missing", "existingSecret", "secrets.databaseUrl and secrets.jwtKey"}},
		{"missing-phi-keys", []string{"the PHI keys are missing", "secrets.phiKeys", "secrets.phiIndexKey", "existingSecret"}},
		{"negative-replicas", []string{"replicaCount", "minimum: got -1, want 1"}},
		{"unknown-key", []string{"additional properties 'replica' not allowed"}},
		{"short-grace-period", []string{"terminationGracePeriodSeconds (20) must exceed", "(30)"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			_, err := renderChart(loadChart(t), readValues(t, "testdata/invalid/"+tc.file+".yaml"), renderOpts{})
			if err == nil {
				t.Fatal("rendered without error, want a refusal")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// The strict decoding is what catches a misspelt field in a template (helm lint
// --strict does not): prove the decoder refuses one.
func TestStrictDecodingRefusesMisspeltFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n", `unknown field "spec.replica"`},
		{"wrong type", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: eighty}]\n", "port"},
		{"crd unknown field", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec:\n  endpoint: []\n", `unknown field "endpoint"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeOne("plant.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
