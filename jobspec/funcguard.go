package jobspec

import (
	"fmt"
	"math/big"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Some standard functions can turn a few bytes of a job file into
// gigabytes (a product of sets, an indent by a billion spaces). A job file
// is user input, so these are wrapped to refuse such results with a clear
// message instead of exhausting the CLI's memory.
const (
	maxProductElements = 100000
	maxIndentSpaces    = 1024
)

// guardedSetProduct is setproduct, refusing products of more than
// maxProductElements elements before computing them.
var guardedSetProduct = function.New(&function.Spec{
	VarParam: stdlib.SetProductFunc.VarParam(),
	Type: func(args []cty.Value) (cty.Type, error) {
		return stdlib.SetProductFunc.ReturnTypeForValues(args)
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		total := big.NewInt(1)
		for _, a := range args {
			if !a.IsKnown() || a.IsNull() || !a.CanIterateElements() {
				continue
			}
			total.Mul(total, big.NewInt(int64(a.LengthInt())))
		}
		if total.Cmp(big.NewInt(maxProductElements)) > 0 {
			return cty.NilVal, fmt.Errorf("the product has %s elements; the limit is %d", total, maxProductElements)
		}
		return stdlib.SetProductFunc.Call(args)
	},
})

// guardedIndent is indent, refusing more than maxIndentSpaces spaces.
var guardedIndent = function.New(&function.Spec{
	Params: stdlib.IndentFunc.Params(),
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		if n := args[0]; n.IsKnown() && !n.IsNull() {
			bf := n.AsBigFloat()
			if bf.Cmp(big.NewFloat(maxIndentSpaces)) > 0 || bf.Sign() < 0 {
				return cty.NilVal, fmt.Errorf("indent takes 0 to %d spaces", maxIndentSpaces)
			}
		}
		return stdlib.IndentFunc.Call(args)
	},
})
