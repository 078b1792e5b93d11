package console

import (
	"net/http"
	"strings"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

type sdkKeysData struct {
	Base string
	Keys []store.SDKKey
	// Created is a key just made: shown on this page once, never again.
	Created *store.SDKKey
	Secret  string
	Name    string
}

func (c *Console) sdkKeysPage(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.showSDKKeys(w, r, s, http.StatusOK, sdkKeysData{}, nil)
}

func (c *Console) showSDKKeys(w http.ResponseWriter, r *http.Request, s *session, status int, d sdkKeysData, formErr error) error {
	keys, err := c.DB.SDKKeys(s.ctx(r))
	if err != nil {
		return err
	}
	d.Base, d.Keys = "/console/t/"+s.Restaurant.ID, keys
	// The secret must not linger in a cache or the browser's history.
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, r, status, "sdk_keys", &view{Title: "SDK keys · " + s.Restaurant.Name, Section: "flags", Session: s, Data: d}, formErr)
	return nil
}

func (c *Console) createSDKKey(w http.ResponseWriter, r *http.Request, s *session) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	k, secret, err := c.Auth.CreateSDKKey(s.ctx(r), name)
	if apperr.Is(err, apperr.Invalid) {
		return c.showSDKKeys(w, r, s, http.StatusUnprocessableEntity, sdkKeysData{Name: name}, err)
	}
	if err != nil {
		return err
	}
	return c.showSDKKeys(w, r, s, http.StatusCreated, sdkKeysData{Created: &k, Secret: secret}, nil)
}

func (c *Console) revokeSDKKey(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return notFoundPage()
	}
	k, err := c.DB.RevokeSDKKey(s.ctx(r), id)
	if err != nil {
		return err
	}
	return redirect(w, r, "/console/t/"+s.Restaurant.ID+"/sdk_keys", "Revoked the SDK key “"+k.Name+"”; every server refuses it within a second.")
}
