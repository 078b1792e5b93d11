package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// staleDays is the window of the stale-flag report on the flags page.
const staleDays = 30

type flagRow struct {
	Flag store.FeatureFlag
	// Shadows: the restaurant's row hides a platform default of the same key.
	Shadows bool
	Result  flags.Result
}

type flagForm struct {
	Key, Description, Percentage, Scope string
	Enabled                             bool
}

type flagsData struct {
	Base    string
	Rows    []flagRow
	Global  []store.FeatureFlag
	Stale   []flags.StaleFlag
	Entity  string
	Form    flagForm
	CanEdit bool
}

func (c *Console) flagsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.showFlags(w, r, s, http.StatusOK, flagForm{Scope: "tenant"}, nil)
}

// showFlags renders the flags page; err is a form error shown above the
// form, which keeps what the user typed.
func (c *Console) showFlags(w http.ResponseWriter, r *http.Request, s *session, status int, form flagForm, formErr error) error {
	ctx := s.ctx(r)
	l, err := c.Flags.List(ctx)
	if err != nil {
		return err
	}
	entity := strings.TrimSpace(r.URL.Query().Get("entity"))
	if len(entity) > 200 {
		entity = entity[:200]
	}
	// Evaluated without counting: looking at the page is not the product
	// reading its flags.
	results := map[string]flags.Result{}
	for _, res := range c.Flags.EvaluateAll(ctx, entity) {
		results[res.Key] = res
	}
	global := map[string]bool{}
	for _, f := range l.Global {
		global[f.Key] = true
	}
	d := flagsData{Base: "/console/t/" + s.Restaurant.ID, Global: l.Global, Entity: entity, Form: form, CanEdit: s.Super()}
	for _, f := range l.Effective {
		d.Rows = append(d.Rows, flagRow{Flag: f, Shadows: !f.Global && global[f.Key], Result: results[f.Key]})
	}
	if d.Stale, err = c.Flags.Stale(ctx, staleDays); err != nil {
		return err
	}
	c.render(w, r, status, "flags", &view{Title: "Feature flags · " + s.Restaurant.Name, Section: "flags", Session: s, Data: d}, formErr)
	return nil
}

// formError re-renders the page for errors the user can fix in the form;
// anything else becomes an error page.
func (c *Console) formError(w http.ResponseWriter, r *http.Request, s *session, form flagForm, err error) error {
	switch apperr.CodeOf(err) {
	case apperr.Invalid, apperr.Conflict:
		status := http.StatusUnprocessableEntity
		if apperr.Is(err, apperr.Conflict) {
			status = http.StatusConflict
		}
		return c.showFlags(w, r, s, status, form, err)
	}
	return err
}

// parsePercentage reads the percentage field: empty means everyone.
func parsePercentage(v string) (*int, error) {
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "%"))
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 100 {
		return nil, apperr.InvalidField("percentage", "must be a whole number from 0 to 100, or empty for everyone")
	}
	return &n, nil
}

func scopeOf(r *http.Request) (global bool, err error) {
	switch r.PostFormValue("scope") {
	case "tenant", "":
		return false, nil
	case "global":
		return true, nil
	}
	return false, apperr.InvalidField("scope", "must be this restaurant or the platform default")
}

func where(global bool, s *session) string {
	if global {
		return "as the platform default"
	}
	return "for " + s.Restaurant.Name
}

func (c *Console) createFlag(w http.ResponseWriter, r *http.Request, s *session) error {
	form := flagForm{Key: strings.TrimSpace(r.PostFormValue("key")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Percentage: r.PostFormValue("percentage"), Scope: r.PostFormValue("scope"), Enabled: r.PostFormValue("enabled") == "on"}
	global, err := scopeOf(r)
	if err != nil {
		return c.formError(w, r, s, form, err)
	}
	pct, err := parsePercentage(form.Percentage)
	if err != nil {
		return c.formError(w, r, s, form, err)
	}
	ch := flags.Change{Description: &form.Description, Enabled: &form.Enabled, Percentage: pct}
	if form.Key != "" && !flags.KeyPattern.MatchString(form.Key) {
		return c.formError(w, r, s, form, apperr.InvalidField("key", "use lower case letters, digits, “_”, “.” and “-”, starting with a letter or digit, at most 64 characters"))
	}
	f, err := c.Flags.Create(s.ctx(r), form.Key, global, ch)
	if apperr.Is(err, apperr.Conflict) {
		err = apperr.InvalidField("key", "a flag %q already exists %s", form.Key, where(global, s))
	}
	if err != nil {
		return c.formError(w, r, s, form, err)
	}
	return redirect(w, r, "/console/t/"+s.Restaurant.ID+"/flags", fmt.Sprintf("Created %s %s (%s).", f.Key, where(global, s), describe(f)))
}

// setFlag turns a flag on or off or sets its percentage, for the
// restaurant (creating its own row) or as the platform default.
func (c *Console) setFlag(w http.ResponseWriter, r *http.Request, s *session) error {
	key := r.PostFormValue("key")
	form := flagForm{Scope: "tenant"}
	global, err := scopeOf(r)
	if err != nil {
		return c.formError(w, r, s, form, err)
	}
	var ch flags.Change
	switch r.PostFormValue("action") {
	case "on":
		on := true
		ch.Enabled = &on
	case "off":
		off := false
		ch.Enabled = &off
	case "percentage":
		pct, err := parsePercentage(r.PostFormValue("percentage"))
		if err != nil {
			return c.formError(w, r, s, form, fmt.Errorf("%s: %w", key, err))
		}
		ch.Percentage, ch.ClearPercentage = pct, pct == nil
	default:
		return c.formError(w, r, s, form, apperr.InvalidField("action", "must be on, off or percentage"))
	}
	f, err := c.Flags.Set(s.ctx(r), key, global, ch)
	if err != nil {
		return c.formError(w, r, s, form, err)
	}
	return redirect(w, r, "/console/t/"+s.Restaurant.ID+"/flags", fmt.Sprintf("%s is now %s %s.", f.Key, describe(f), where(global, s)))
}

func (c *Console) deleteFlag(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return notFoundPage()
	}
	f, err := c.Flags.Delete(s.ctx(r), id)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Removed %s %s.", f.Key, where(f.Global, s))
	if !f.Global {
		msg = fmt.Sprintf("Removed the restaurant's own %s; the platform default applies if there is one.", f.Key)
	}
	return redirect(w, r, "/console/t/"+s.Restaurant.ID+"/flags", msg)
}

// describe says in words what a flag does.
func describe(f store.FeatureFlag) string {
	switch {
	case !f.Enabled:
		return "off"
	case f.Percentage != nil:
		return fmt.Sprintf("on for %d%% of users", *f.Percentage)
	}
	return "on for everyone"
}
