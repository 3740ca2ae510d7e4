package jobspec

import (
	"fmt"
	"math"
	"math/big"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// HCL numbers are arbitrary-precision floats, and writing one as a decimal
// string (an argument, a template) takes time and memory in proportion to
// its exponent: 1e99999999 in a job file would hang the parser on a
// hundred-million-digit string. Numbers whose binary exponent is beyond
// maxNumberExp (about 1e±19728) are refused wherever they can enter: the
// file's literals, -var and -var-file values, local values, every
// attribute's value, and pow's results.
const maxNumberExp = 1 << 16

// hugeNumber reports whether v is or holds a number beyond maxNumberExp.
func hugeNumber(v cty.Value) bool {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return false
	}
	ty := v.Type()
	switch {
	case ty == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInf() || bf.Sign() == 0 {
			return false
		}
		exp := bf.MantExp(nil)
		return exp > maxNumberExp || exp < -maxNumberExp
	case ty.IsListType(), ty.IsSetType(), ty.IsMapType(), ty.IsTupleType(), ty.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			if _, e := it.Element(); hugeNumber(e) {
				return true
			}
		}
	}
	return false
}

func hugeNumberDiag(rng hcl.Range) *hcl.Diagnostic {
	return errorAt(rng, "Number too large", "Numbers in a job file are limited to about 1e±19000; this one is beyond that.")
}

// checkLiterals refuses number literals beyond the limit before anything
// is evaluated.
func checkLiterals(body hcl.Body) hcl.Diagnostics {
	b, ok := body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var diags hcl.Diagnostics
	_ = hclsyntax.VisitAll(b, func(n hclsyntax.Node) hcl.Diagnostics {
		if lit, ok := n.(*hclsyntax.LiteralValueExpr); ok && hugeNumber(lit.Val) {
			diags = append(diags, hugeNumberDiag(lit.SrcRange))
		}
		return nil
	})
	return diags
}

// guardedPow is pow, refusing results beyond the limit before computing
// them.
var guardedPow = function.New(&function.Spec{
	Params: stdlib.PowFunc.Params(),
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		base, exp := args[0], args[1]
		if base.IsKnown() && exp.IsKnown() && !base.IsNull() && !exp.IsNull() {
			b, e := base.AsBigFloat(), exp.AsBigFloat()
			// |result| = 2^(e * log2|b|): its binary exponent, roughly.
			var lb float64
			if b.Sign() != 0 && !b.IsInf() {
				mant := new(big.Float)
				bexp := b.MantExp(mant)
				m, _ := mant.Float64()
				lb = math.Abs(math.Log2(math.Abs(m)) + float64(bexp))
			}
			ef, _ := e.Float64()
			if lb*math.Abs(ef) > maxNumberExp {
				return cty.NilVal, fmt.Errorf("the result is beyond about 1e±19000, the largest number a job file may hold")
			}
		}
		return stdlib.PowFunc.Call(args)
	},
})
