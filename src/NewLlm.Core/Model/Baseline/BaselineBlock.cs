using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm;

/// <summary>
/// One post-LayerNorm block of the baseline (the original's <c>TransformerBlock</c>):
/// <c>x = norm1(x + dropout1(attention(x)))</c>, then <c>x = norm2(x + dropout2(ffn(x)))</c> with
/// <c>ffn = Sequential(Linear, GELU, Dropout, Linear, Dropout)</c>, so its parameters are <c>ffn.0.*</c> and <c>ffn.3.*</c>.
/// </summary>
internal sealed class BaselineBlock : Module<Tensor, Tensor>
{
    private readonly BaselineAttention _attention;
    private readonly LayerNorm _norm1;
    private readonly Dropout _dropout1;
    private readonly Sequential _ffn;
    private readonly Linear _ffnIn;
    private readonly GELU _gelu;
    private readonly Dropout _ffnDropout;
    private readonly Linear _ffnOut;
    private readonly Dropout _ffnOutDropout;
    private readonly LayerNorm _norm2;
    private readonly Dropout _dropout2;

    public BaselineBlock(int embedDim, int heads, int hiddenDim, double dropout) : base(nameof(BaselineBlock))
    {
        _attention = new BaselineAttention(embedDim, heads, dropout);
        _norm1 = LayerNorm(embedDim);
        _dropout1 = Dropout(dropout);
        _ffnIn = Linear(embedDim, hiddenDim);
        _gelu = GELU();
        _ffnDropout = Dropout(dropout);
        _ffnOut = Linear(hiddenDim, embedDim);
        _ffnOutDropout = Dropout(dropout);
        _ffn = Sequential(_ffnIn, _gelu, _ffnDropout, _ffnOut, _ffnOutDropout);
        _norm2 = LayerNorm(embedDim);
        _dropout2 = Dropout(dropout);
        register_module("attention", _attention);
        register_module("norm1", _norm1);
        register_module("dropout1", _dropout1);
        register_module("ffn", _ffn);
        register_module("norm2", _norm2);
        register_module("dropout2", _dropout2);
    }

    // The constructor registers the children under the original's names; TorchSharp would add the fields again under
    // theirs when the parent ModuleList registers this module.
    protected override void RegisterComponents()
    {
    }

    /// <summary>[batch, time, embed] to [batch, time, embed], causal.</summary>
    public override Tensor forward(Tensor x) => Forward(x, productDType: null);

    /// <summary>
    /// As <see cref="forward"/>, the Linear products in <paramref name="productDType"/> (null: the parameters' dtype); the
    /// FFN's second dropout and the block's <c>dropout2</c> are two draws, as in the original.
    /// </summary>
    public Tensor Forward(Tensor x, ScalarType? productDType)
    {
        using var scope = NewDisposeScope();
        Tensor attended = _norm1.call(x.add(_dropout1.call(_attention.Forward(x, productDType)), HeldScalars.One));
        Tensor inner = _ffnDropout.call(F.gelu(MixedPrecision.Linear(attended, _ffnIn.weight!, _ffnIn.bias, productDType)));
        Tensor ffn = _ffnOutDropout.call(MixedPrecision.Linear(inner, _ffnOut.weight!, _ffnOut.bias, productDType));
        return _norm2.call(attended.add(_dropout2.call(ffn), HeldScalars.One)).MoveToOuterDisposeScope();
    }

    /// <summary>The inference function (no dropout) for new positions after those in <paramref name="cache"/>, which gets their keys and values.</summary>
    public Tensor Step(Tensor x, BaselineKeyValueCache cache, int layer)
    {
        using var scope = NewDisposeScope();
        Tensor attended = _norm1.call(x.add(_attention.Step(x, cache, layer), HeldScalars.One));
        return _norm2.call(attended.add(FeedForwardWithoutDropout(attended), HeldScalars.One)).MoveToOuterDisposeScope();
    }

    // ffn without its Dropout modules (indices 2 and 4), whatever the mode.
    private Tensor FeedForwardWithoutDropout(Tensor x) => _ffnOut.call(_gelu.call(_ffnIn.call(x)));
}
