using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm;

/// <summary>
/// The baseline's causal multi-head self-attention (the original's <c>MultiHeadSelfAttention</c>): one fused
/// <c>qkv_proj</c>, scaled dot-product attention with a causal mask and dropout on the weights, <c>out_proj</c>.
/// </summary>
/// <remarks>
/// The original computes <c>softmax(masked_fill(QK^T / sqrt(d), future, -inf))</c> then dropout; libtorch's
/// <c>scaled_dot_product_attention</c> with <c>is_causal</c> is that computation (and the same dropout on the weights).
/// </remarks>
internal sealed class BaselineAttention : Module<Tensor, Tensor>
{
    private readonly Linear _qkvProj;
    private readonly Linear _outProj;
    private readonly int _heads;
    private readonly double _dropout;

    public BaselineAttention(int embedDim, int heads, double dropout) : base(nameof(BaselineAttention))
    {
        _heads = heads;
        _dropout = dropout;
        _qkvProj = Linear(embedDim, 3 * embedDim);
        _outProj = Linear(embedDim, embedDim);
        register_module("qkv_proj", _qkvProj);
        register_module("out_proj", _outProj);
    }

    // The constructor registers the children under the original's names; TorchSharp would add the fields again under
    // theirs when the parent ModuleList registers this module.
    protected override void RegisterComponents()
    {
    }

    /// <summary>[batch, time, embed] to [batch, time, embed]; position t attends to positions 0..t.</summary>
    public override Tensor forward(Tensor x) => Forward(x, productDType: null);

    /// <summary>As <see cref="forward"/>, the projections' products in <paramref name="productDType"/> (null: the parameters' dtype).</summary>
    public Tensor Forward(Tensor x, ScalarType? productDType)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], e = x.shape[2];
        Tensor qkv = MixedPrecision.Linear(x, _qkvProj.weight!, _qkvProj.bias, productDType).reshape(b, t, 3, _heads, e / _heads).permute(2, 0, 3, 1, 4);
        Tensor attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], null, training ? _dropout : 0.0, true);
        return MixedPrecision.Linear(attended.transpose(1, 2).reshape(b, t, e), _outProj.weight!, _outProj.bias, productDType).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The inference function for <c>n</c> new positions, [batch, n, embed], after those in <paramref name="cache"/>:
    /// their keys and values are appended to layer <paramref name="layer"/>'s cache and each new position attends to
    /// every cached position and the new ones up to itself. No dropout.
    /// </summary>
    public Tensor Step(Tensor x, BaselineKeyValueCache cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], e = x.shape[2], past = cache.Length;
        Tensor qkv = _qkvProj.call(x).reshape(b, n, 3, _heads, e / _heads).permute(2, 0, 3, 1, 4);
        (Tensor keys, Tensor values) = cache.Append(layer, qkv[1], qkv[2]);
        Tensor attended;
        if (n == 1)
        {
            attended = F.scaled_dot_product_attention(qkv[0], keys, values, null, 0.0, false);
        }
        else if (past == 0)
        {
            attended = F.scaled_dot_product_attention(qkv[0], keys, values, null, 0.0, true);
        }
        else
        {
            // is_causal aligns the mask to the top left; new position i may see the past and new positions up to i.
            Tensor allowed = torch.ones(n, past + n, dtype: ScalarType.Bool, device: x.device).tril(past);
            attended = F.scaled_dot_product_attention(qkv[0], keys, values, allowed, 0.0, false);
        }

        return _outProj.call(attended.transpose(1, 2).reshape(b, n, e)).MoveToOuterDisposeScope();
    }
}
