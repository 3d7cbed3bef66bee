// Package check validates HealthGraph's deployment artefacts offline: it renders the
// Helm chart with the Helm SDK for several value sets and decodes every object
// strictly into the Kubernetes API types, asserts the chart's invariants, checks that
// bad values are refused with a clear message, and loads docker-compose.yml with the
// compose-spec library. It is its own module so that Helm, client-go and compose-go
// stay out of the service's dependencies. Run it with .ci/deploy-checks.sh.
package check
