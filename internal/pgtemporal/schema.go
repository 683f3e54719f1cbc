package pgtemporal

import (
	"bytes"
	"crypto/md5" // #nosec: the schema tool's manifest checksum, not security
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
	dbschemas "go.temporal.io/server/schema"
)

// The embedded schemas (go.temporal.io/server/schema) for the postgres12
// plugin, as temporal-sql-tool's --schema-name takes them.
const (
	SchemaTemporal   = "postgresql/v12/temporal"
	SchemaVisibility = "postgresql/v12/visibility"
)

// SetupSchema does, in-process, what the Temporal docs' temporal-sql-tool
// sequence does for one database:
//
//	temporal-sql-tool --plugin postgres12 --db NAME create-database
//	temporal-sql-tool --plugin postgres12 --db NAME setup-schema -v 0.0
//	temporal-sql-tool --plugin postgres12 --db NAME update-schema --schema-name SCHEMA
//
// with the server module's own pieces: its SQL admin DB (schema_version
// tables, statements), its statement splitter and its embedded versioned
// schema. (The tool's own package, go.temporal.io/server/tools/sql, pulls
// in a CLI library this module does not otherwise need, and exits the
// process on error.) It is idempotent: run again, it applies only the
// versions the database lacks, as update-schema does.
//
// kind is sqlplugin.DbKindMain (schema SchemaTemporal) or
// sqlplugin.DbKindVisibility (SchemaVisibility).
func SetupSchema(cfg *config.SQL, kind sqlplugin.DbKind) error {
	schemaName := SchemaTemporal
	if kind == sqlplugin.DbKindVisibility {
		schemaName = SchemaVisibility
	}
	if err := createDatabase(cfg); err != nil {
		return err
	}
	db, err := sql.NewSQLAdminDB(kind, cfg, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", cfg.DatabaseName, err)
	}
	defer func() { _ = db.Close() }()

	// setup-schema -v 0.0: the version tables, at 0.0 when new.
	if err := db.CreateSchemaVersionTables(); err != nil {
		return fmt.Errorf("%s: create schema version tables: %w", cfg.DatabaseName, err)
	}
	current, err := db.ReadSchemaVersion(cfg.DatabaseName)
	if err != nil || current == "" {
		current = "0.0"
		if err := db.UpdateSchemaVersion(cfg.DatabaseName, current, current); err != nil {
			return fmt.Errorf("%s: set initial schema version: %w", cfg.DatabaseName, err)
		}
		if err := db.WriteSchemaUpdateLog("0", current, "", "initial version"); err != nil {
			return fmt.Errorf("%s: schema update log: %w", cfg.DatabaseName, err)
		}
	}

	// update-schema --schema-name: every versioned directory past current.
	assets := dbschemas.Assets()
	dir := path.Join(schemaName, "versioned")
	entries, err := fs.ReadDir(assets, dir)
	if err != nil {
		return fmt.Errorf("embedded schema %s: %w", dir, err)
	}
	var versions []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "v") && versionLess(current, e.Name()[1:]) {
			versions = append(versions, e.Name()[1:])
		}
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	for _, v := range versions {
		m, err := readManifest(assets, path.Join(dir, "v"+v))
		if err != nil {
			return err
		}
		for _, file := range m.SchemaUpdateCqlFiles {
			b, err := fs.ReadFile(assets, path.Join(dir, "v"+v, file))
			if err != nil {
				return err
			}
			stmts, err := persistence.LoadAndSplitQueryFromReaders([]io.Reader{bytes.NewReader(b)})
			if err != nil {
				return fmt.Errorf("%s v%s %s: %w", schemaName, v, file, err)
			}
			for _, stmt := range stmts {
				if err := db.Exec(stmt); err != nil {
					// As the tool does: a re-run after a partial update.
					if msg := err.Error(); strings.Contains(msg, "already exist") || strings.Contains(msg, "not found") {
						continue
					}
					return fmt.Errorf("%s v%s: %w", schemaName, v, err)
				}
			}
		}
		if err := db.UpdateSchemaVersion(cfg.DatabaseName, m.CurrVersion, m.MinCompatibleVersion); err != nil {
			return fmt.Errorf("%s: schema version %s: %w", cfg.DatabaseName, v, err)
		}
		if err := db.WriteSchemaUpdateLog(current, m.CurrVersion, m.md5, m.Description); err != nil {
			return fmt.Errorf("%s: schema update log: %w", cfg.DatabaseName, err)
		}
		current = m.CurrVersion
	}
	// What the server itself checks at start-up.
	return db.VerifyVersion()
}

func createDatabase(cfg *config.SQL) error {
	admin := *cfg
	admin.DatabaseName = "postgres"
	db, err := sql.NewSQLAdminDB(sqlplugin.DbKindUnknown, &admin, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer func() { _ = db.Close() }()
	if err := db.CreateDatabase(cfg.DatabaseName); err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("create database %s: %w", cfg.DatabaseName, err)
	}
	return nil
}

type manifest struct {
	CurrVersion          string
	MinCompatibleVersion string
	Description          string
	SchemaUpdateCqlFiles []string
	md5                  string
}

func readManifest(fsys fs.FS, dir string) (*manifest, error) {
	b, err := fs.ReadFile(fsys, path.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s/manifest.json: %w", dir, err)
	}
	if m.CurrVersion == "" || m.MinCompatibleVersion == "" {
		return nil, fmt.Errorf("%s/manifest.json: versions missing", dir)
	}
	sum := md5.Sum(b) // #nosec
	m.md5 = hex.EncodeToString(sum[:])
	return &m, nil
}

// versionLess compares dotted versions numerically (1.9 < 1.10).
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
