package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// dataset is what the mix draws its arguments from, found through the API
// at startup: it is never printed, since names and IDs are patient data.
type dataset struct {
	domain        string
	password      string
	tokens        map[string]string // by role
	patients      []string          // global IDs
	practitioners []string          // global IDs
	prefixes      []string          // 2 to 4 letter name prefixes
}

func (d *dataset) email(role string) string { return "load-" + role + "@" + d.domain }

// login opens a session for every role the mix needs.
func (d *dataset) login(ctx context.Context, c *client, need []string) error {
	d.tokens = map[string]string{}
	for _, role := range need {
		var res struct {
			Login struct {
				AccessToken string `json:"accessToken"`
			} `json:"login"`
		}
		if err := c.query(ctx, "", loginQuery, map[string]any{"email": d.email(role), "password": d.password}, &res); err != nil {
			return fmt.Errorf("log in as %s: %w", d.email(role), err)
		}
		d.tokens[role] = res.Login.AccessToken
	}
	return nil
}

const discoverPatients = `query Patients($after: String) {
  patients(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id firstName familyName } }
  }
}`

const discoverPractitioners = `query Practitioners($after: String) {
  practitioners(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id } }
  }
}`

// page is the shape of one connection page during discovery.
type page struct {
	PageInfo struct {
		HasNextPage bool   `json:"hasNextPage"`
		EndCursor   string `json:"endCursor"`
	} `json:"pageInfo"`
	Edges []struct {
		Node struct {
			ID         string `json:"id"`
			FirstName  string `json:"firstName"`
			FamilyName string `json:"familyName"`
		} `json:"node"`
	} `json:"edges"`
}

// discover reads up to pages pages of patients and practitioners as token
// and derives search prefixes from the patients' names.
func (d *dataset) discover(ctx context.Context, c *client, token string, pages int, rng *rand.Rand) error {
	seen := map[string]bool{}
	err := paginate(ctx, c, token, discoverPatients, "patients", pages, func(p page) {
		for _, e := range p.Edges {
			d.patients = append(d.patients, e.Node.ID)
			for _, name := range []string{e.Node.FirstName, e.Node.FamilyName} {
				if pre := prefix(name, 2+rng.IntN(3)); pre != "" && !seen[pre] {
					seen[pre] = true
					d.prefixes = append(d.prefixes, pre)
				}
			}
		}
	})
	if err != nil {
		return err
	}
	err = paginate(ctx, c, token, discoverPractitioners, "practitioners", pages, func(p page) {
		for _, e := range p.Edges {
			d.practitioners = append(d.practitioners, e.Node.ID)
		}
	})
	if err != nil {
		return err
	}
	if len(d.patients) == 0 || len(d.practitioners) == 0 || len(d.prefixes) == 0 {
		return fmt.Errorf("found %d patients and %d practitioners: seed the database first (healthgraph seed)",
			len(d.patients), len(d.practitioners))
	}
	return nil
}

// paginate reads up to pages pages of the connection field of query.
func paginate(ctx context.Context, c *client, token, query, field string, pages int, each func(page)) error {
	var after any
	for range pages {
		var res map[string]page
		if err := c.query(ctx, token, query, map[string]any{"after": after}, &res); err != nil {
			return fmt.Errorf("discover %s: %w", field, err)
		}
		p := res[field]
		each(p)
		if !p.PageInfo.HasNextPage {
			return nil
		}
		after = p.PageInfo.EndCursor
	}
	return nil
}

// prefix is the first n letters of name, lower-cased, or "" when the name
// is shorter.
func prefix(name string, n int) string {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) < n {
		return ""
	}
	r := []rune(name)[:n]
	return strings.ToLower(string(r))
}
