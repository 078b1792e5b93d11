//go:build browser

package console_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBackups runs an export, watches its job complete, validates
// the backup and restores it as a new restaurant, all through the pages.
func TestBrowserBackups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startJobs()
	b := newTab(t, e.srv.URL)
	b.login("root@platform.test")
	b.waitHeading("Restaurants")

	b.open("/console/t/" + e.A.ID + "/backups")
	b.waitHeading("Tenant backup")
	b.shot("20-backups-empty")
	b.do(chromedp.Click(chromedp.CSS("#export")))
	b.waitFor("job page", `location.pathname.includes("/jobs/")`)
	b.waitHeading("Export")
	// The page follows the job by itself and reloads when it ends.
	b.waitFor("export complete", `document.getElementById("job-status").textContent == "complete"`)
	b.waitFor("result", `!!document.getElementById("job-result")`)
	if v := b.eval(`String(document.getElementById("job-progress").value)`); v != "100" {
		t.Errorf("finished job shows %s %%", v)
	}
	b.shot("21-export-job-complete")

	b.open("/console/t/" + e.A.ID + "/backups")
	b.waitFor("backup listed", `!!document.querySelector("#backups tr[data-backup]")`)
	id := b.eval(`document.querySelector("#backups tr[data-backup]").dataset.backup`)
	b.shot("22-backups-listed")
	b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-backup="%s"] a[href$="/validate"]`, id))))
	b.waitHeading("Validation of a backup")
	if v := b.eval(`document.getElementById("verdict").textContent`); !strings.Contains(v, "The backup is valid") {
		t.Errorf("verdict: %q", v)
	}
	b.shot("23-validate")

	// Restore it as a new restaurant.
	b.open("/console/t/" + e.A.ID + "/backups")
	b.waitFor("backup listed", `!!document.querySelector("#backups tr[data-backup]")`)
	row := fmt.Sprintf(`tr[data-backup="%s"]`, id)
	b.do(chromedp.Click(chromedp.CSS(row+" details summary")),
		chromedp.SendKeys(chromedp.CSS(row+` input[name="new_name"]`), "Alpha Sushi Restored"))
	b.shot("24-restore-form")
	b.do(chromedp.Click(chromedp.CSS(row + ` form.restore button[type="submit"]`)))
	b.waitFor("job page", `location.pathname.startsWith("/console/jobs/")`)
	b.waitFor("restore complete", `document.getElementById("job-status").textContent == "complete"`)
	b.waitFor("link to the new restaurant", `!!document.querySelector("#job-result a")`)
	b.shot("25-restore-job-complete")
	b.do(chromedp.Click(chromedp.CSS("#job-result a")))
	b.waitHeading("Tenant backup")
	if name := b.eval(`document.querySelector(".context strong").textContent`); name != "Alpha Sushi Restored" {
		t.Errorf("restored restaurant is %q", name)
	}
	if sel := b.eval(`document.querySelector("#switch-restaurant").selectedOptions[0].textContent`); !strings.Contains(sel, "Alpha Sushi Restored") {
		t.Errorf("switcher shows %q", sel)
	}
	b.shot("26-restored-restaurant")

	// The restore copied Alpha's logins: its admin now signs in to two
	// restaurants, and after the password picks one by name.
	restored := b.eval(`document.querySelector("#switch-restaurant").value`)
	b.logout()
	b.login("admin@as.test")
	b.waitHeading("Choose a restaurant")
	choices := b.eval(`Array.from(document.querySelectorAll("button.choice")).map(c => c.firstChild.textContent.trim()).join("|")`)
	if choices != "Alpha Sushi|Alpha Sushi Restored" {
		t.Errorf("choices offered: %q", choices)
	}
	if n := b.eval(`String(document.querySelectorAll("input[type=password], input[name=restaurant_id]").length)`); n != "0" {
		t.Errorf("the second step asks again for a password or an id (%s fields)", n)
	}
	b.shot("27-choose-restaurant")
	b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`button.choice[value="%s"]`, restored))))
	b.waitFor("the restored restaurant", fmt.Sprintf(`location.pathname == "/console/t/%s/analytics"`, restored))
	b.waitHeading("Analytics") // the address changes before the page is there
	if who := b.eval(`document.querySelector(".who").textContent`); !strings.Contains(who, "admin@as.test") {
		t.Errorf("signed in as %q", who)
	}
	b.shot("28-admin-of-the-restored-restaurant")

	// A wrong password names no restaurant.
	b.logout()
	b.open("/console/login")
	b.waitHeading("Sign in")
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), "admin@as.test"), chromedp.SendKeys(chromedp.CSS("#password"), "wrong password!\r"))
	b.waitFor("error", `(document.querySelector(".error")||{textContent:""}).textContent.includes("The e-mail or password is wrong.")`)
	if body := b.eval(`document.body.innerText`); strings.Contains(body, "Alpha Sushi") {
		t.Errorf("a wrong password shows restaurants:\n%s", body)
	}
}
