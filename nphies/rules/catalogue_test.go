package rules_test

import (
	"testing"

	"github.com/healthgraph/healthgraph/nphies/rules"
)

func TestCatalogueClassifiesEveryRuleOfTheSheet(t *testing.T) {
	t.Parallel()
	cat := rules.Catalogue()
	if len(cat) != 3640 {
		t.Fatalf("catalogue has %d rules, the sheet 3640", len(cat))
	}
	seen := map[string]bool{}
	count := map[rules.Status]int{}
	for _, r := range cat {
		if r.ID == "" || r.Type == "" || (r.Active() && r.Display == "") {
			t.Errorf("rule %+v lacks id, type or display", r)
		}
		// The sheet itself lists DT-00752 and DT-00753 twice, with different
		// dates.
		if seen[r.ID] && r.ID != "DT-00752" && r.ID != "DT-00753" {
			t.Errorf("%s listed twice", r.ID)
		}
		seen[r.ID] = true
		count[r.Status]++
		if r.Status == rules.NotEvaluable && r.Reason == "" {
			t.Errorf("%s is not evaluable without a reason", r.ID)
		}
	}
	// The sheet's own figures: 2,952 active rules, 688 deactivated.
	if count[rules.Deactivated] != 688 {
		t.Errorf("deactivated: %d, want 688", count[rules.Deactivated])
	}
	t.Logf("%v", count)
}

func TestEveryHandWrittenRuleIsInTheSheetAndActive(t *testing.T) {
	t.Parallel()
	status := map[string]rules.Status{}
	for _, r := range rules.Catalogue() {
		status[r.ID] = r.Status
	}
	for _, id := range []string{"BV-00772", "BV-00780", "BV-00803", "BV-00806", "BV-00752", "BV-00729", "BV-00449",
		"BV-00002", "BV-00044", "BV-00059", "BV-00228", "BV-00393", "BV-00503"} {
		if status[id] != rules.Implemented {
			t.Errorf("%s: %q, want implemented", id, status[id])
		}
	}
}
