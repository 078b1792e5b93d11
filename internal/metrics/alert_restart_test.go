package metrics_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	alertRule    = regexp.MustCompile(`(?m)^\s*- alert: (\w+)`)
	absentSample = regexp.MustCompile(`(?m)^\s*values: '.*\b_`)
	firingAlert  = regexp.MustCompile(`(?m)^\s*alertname: (\w+)\n\s*exp_alerts:\s*\n`)
)

// TestEveryAlertFiresAfterARestart: each alert the rules ship is shown
// firing, in the promtool tests, in a case whose series are absent for a
// while (a restart, or a series born on its first event), so none can miss
// the first event after a restart unnoticed. TestAlertRules runs the cases.
func TestEveryAlertFiresAfterARestart(t *testing.T) {
	dir := filepath.Join(deployDir, "prometheus")
	rules, err := os.ReadFile(filepath.Join(dir, "ordersuite-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join(dir, "ordersuite-rules.test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range strings.Split(string(tests), "\n  - interval:")[1:] {
		if !absentSample.MatchString(c) {
			continue
		}
		for _, m := range firingAlert.FindAllStringSubmatch(c, -1) {
			covered[m[1]] = true
		}
	}
	alerts := alertRule.FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 10 {
		t.Fatalf("found %d alerts in the rules", len(alerts))
	}
	for _, m := range alerts {
		if !covered[m[1]] {
			t.Errorf("no promtool case shows %s firing after its series were absent (a restart)", m[1])
		}
	}
}
