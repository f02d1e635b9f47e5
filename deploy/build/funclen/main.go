package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

// Command funclen lists the functions longer than -max lines under the given folders (the
// house rule: none in daemon/cmd is longer than 80). Exit status 1 when there is one. Test
// files are left out unless -tests: a test reads as one scenario from top to bottom.
func main() {
	max := flag.Int("max", 80, "longest function allowed, in lines")
	tests := flag.Bool("tests", false, "also count the functions of _test.go files")
	flag.Parse()
	limit := *max
	bad := 0
	for _, root := range flag.Args() {
		err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || !strings.HasSuffix(p, ".go") {
				return err
			}
			if !*tests && strings.HasSuffix(p, "_test.go") {
				return nil
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, p, nil, 0)
			if err != nil {
				return err
			}
			for _, d := range f.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil {
					n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
					if n > limit {
						fmt.Printf("%s:%d %s %d lines\n", p, fset.Position(fn.Pos()).Line, fn.Name.Name, n)
						bad++
					}
				}
			}
			return nil
		})
		if err != nil { // a folder that is not there or a file that does not parse is no pass
			fmt.Fprintln(os.Stderr, "funclen:", err)
			os.Exit(2)
		}
	}
	if bad > 0 {
		fmt.Println(bad, "functions longer than", limit, "lines")
		os.Exit(1)
	}
}
