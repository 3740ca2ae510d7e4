package hclstruct

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

var (
	exprType  = reflect.TypeFor[hcl.Expression]()
	rangeType = reflect.TypeFor[hcl.Range]()
)

// field is one tagged field of a struct.
type field struct {
	index      int
	name, kind string // kind: attr, optional, block, label, def_range
}

func fields(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		tag, ok := t.Field(i).Tag.Lookup("hcl")
		if !ok {
			continue
		}
		name, kind, _ := strings.Cut(tag, ",")
		if kind == "" {
			kind = "attr"
		}
		fs = append(fs, field{index: i, name: name, kind: kind})
	}
	return fs
}

// blockStruct is the struct type a block field holds, and whether it is a
// slice and whether of pointers.
func blockStruct(t reflect.Type) (elem reflect.Type, isSlice, isPtr bool) {
	if t.Kind() == reflect.Slice {
		t, isSlice = t.Elem(), true
	}
	if t.Kind() == reflect.Pointer {
		t, isPtr = t.Elem(), true
	}
	return t, isSlice, isPtr
}

// schema is the body schema of struct type t, names sorted as gohcl sorts
// them (the order of "Missing required argument" errors and suggestions).
func schema(t reflect.Type) (*hcl.BodySchema, error) {
	s := &hcl.BodySchema{}
	for _, f := range fields(t) {
		ft := t.Field(f.index).Type
		switch f.kind {
		case "attr", "optional":
			required := f.kind == "attr" && ft != exprType && ft.Kind() != reflect.Pointer
			s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: f.name, Required: required})
		case "block":
			bt, _, _ := blockStruct(ft)
			if bt.Kind() != reflect.Struct {
				return nil, fmt.Errorf("hcl block field %s.%s is a %s, not a struct", t, t.Field(f.index).Name, ft)
			}
			var labels []string
			for _, lf := range fields(bt) {
				if lf.kind == "label" {
					labels = append(labels, lf.name)
				}
			}
			s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: f.name, LabelNames: labels})
		case "label", "def_range":
		default:
			return nil, fmt.Errorf("hcl tag kind %q of %s.%s is not supported", f.kind, t, t.Field(f.index).Name)
		}
	}
	slices.SortFunc(s.Attributes, func(a, b hcl.AttributeSchema) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Blocks, func(a, b hcl.BlockHeaderSchema) int { return strings.Compare(a.Type, b.Type) })
	return s, nil
}

// DecodeBody decodes body into the struct that ptr points to. Absent
// optional attributes leave their fields alone, except hcl.Expression
// fields, which get a null expression (as gohcl gives them).
func DecodeBody(body hcl.Body, ctx *hcl.EvalContext, ptr any) hcl.Diagnostics {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return internalError(body, fmt.Errorf("decode target is a %T, not a pointer to a struct", ptr))
	}
	return decodeStruct(body, ctx, v.Elem())
}

func internalError(body hcl.Body, err error) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Internal error", Detail: err.Error(), Subject: body.MissingItemRange().Ptr()}}
}

func decodeStruct(body hcl.Body, ctx *hcl.EvalContext, v reflect.Value) hcl.Diagnostics {
	s, err := schema(v.Type())
	if err != nil {
		return internalError(body, err)
	}
	content, diags := body.Content(s)
	if content == nil {
		return diags
	}
	byType := content.Blocks.ByType()
	for _, f := range fields(v.Type()) {
		fv := v.Field(f.index)
		switch f.kind {
		case "attr", "optional":
			attr := content.Attributes[f.name]
			switch {
			case attr == nil && fv.Type() == exprType:
				fv.Set(reflect.ValueOf(hcl.StaticExpr(cty.NullVal(cty.DynamicPseudoType), body.MissingItemRange())))
			case attr == nil:
			case fv.Type() == exprType:
				fv.Set(reflect.ValueOf(attr.Expr))
			default:
				diags = append(diags, DecodeExpression(attr.Expr, ctx, fv.Addr().Interface())...)
			}
		case "block":
			diags = append(diags, decodeBlocks(body, ctx, f.name, byType[f.name], fv)...)
		}
	}
	return diags
}

func decodeBlocks(body hcl.Body, ctx *hcl.EvalContext, typ string, blocks hcl.Blocks, fv reflect.Value) hcl.Diagnostics {
	bt, isSlice, isPtr := blockStruct(fv.Type())
	switch {
	case len(blocks) > 1 && !isSlice:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Duplicate %s block", typ),
			Detail:   fmt.Sprintf("Only one %s block is allowed. Another was defined at %s.", typ, blocks[0].DefRange.String()),
			Subject:  &blocks[1].DefRange,
		}}
	case len(blocks) == 0 && (isSlice || isPtr):
		fv.SetZero()
		return nil
	case len(blocks) == 0:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Missing %s block", typ),
			Detail:   fmt.Sprintf("A %s block is required.", typ),
			Subject:  body.MissingItemRange().Ptr(),
		}}
	}
	var diags hcl.Diagnostics
	decode := func(b *hcl.Block) reflect.Value {
		p := reflect.New(bt)
		diags = append(diags, decodeBlock(b, ctx, p.Elem())...)
		if isPtr {
			return p
		}
		return p.Elem()
	}
	if !isSlice {
		fv.Set(decode(blocks[0]))
		return diags
	}
	sl := reflect.MakeSlice(fv.Type(), 0, len(blocks))
	for _, b := range blocks {
		sl = reflect.Append(sl, decode(b))
	}
	fv.Set(sl)
	return diags
}

func decodeBlock(b *hcl.Block, ctx *hcl.EvalContext, v reflect.Value) hcl.Diagnostics {
	diags := decodeStruct(b.Body, ctx, v)
	labels := b.Labels
	for _, f := range fields(v.Type()) {
		switch {
		case f.kind == "label" && len(labels) > 0:
			v.Field(f.index).SetString(labels[0])
			labels = labels[1:]
		case f.kind == "def_range" && v.Field(f.index).Type() == rangeType:
			v.Field(f.index).Set(reflect.ValueOf(b.DefRange))
		}
	}
	return diags
}

// DecodeExpression evaluates expr and converts its value into what ptr
// points to, as gohcl.DecodeExpression does.
func DecodeExpression(expr hcl.Expression, ctx *hcl.EvalContext, ptr any) hcl.Diagnostics {
	val, diags := expr.Value(ctx)
	ty, err := gocty.ImpliedType(ptr)
	if err == nil {
		if val, err = convert.Convert(val, ty); err == nil {
			err = gocty.FromCtyValue(val, ptr)
		}
	}
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsuitable value type",
			Detail:   fmt.Sprintf("Unsuitable value: %s", err.Error()),
			Subject:  expr.StartRange().Ptr(),
			Context:  expr.Range().Ptr(),
		})
	}
	return diags
}
