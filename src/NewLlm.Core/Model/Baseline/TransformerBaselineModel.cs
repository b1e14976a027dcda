using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace NewLlm;

/// <summary>
/// The original New-LLM repository's GPT-style baseline (<c>TransformerLM</c> in <c>src/models/transformer_baseline.py</c>),
/// the attention model New-LLM is compared with:
/// <code>
/// x      = dropout(token_embedding(ids) + position_embedding(0..T-1))
/// x      = norm1(x + dropout(attention(x)));  x = norm2(x + dropout(ffn(x)))     (NumLayers blocks, causal attention)
/// logits = output_projection(ln_f(x))
/// </code>
/// Parameter names match the original's state dict (<c>token_embedding.weight</c>, <c>position_embedding.weight</c>,
/// <c>blocks.{i}.attention.qkv_proj.*</c>, <c>blocks.{i}.attention.out_proj.*</c>, <c>blocks.{i}.norm1.*</c>,
/// <c>blocks.{i}.ffn.0.*</c>, <c>blocks.{i}.ffn.3.*</c>, <c>blocks.{i}.norm2.*</c>, <c>ln_f.*</c>,
/// <c>output_projection.*</c>), so weights move between the two. The output projection is not tied to the embedding.
/// </summary>
/// <remarks>
/// Attention goes through libtorch's <c>scaled_dot_product_attention</c> with <c>is_causal</c>, the original's
/// masked softmax of <c>QK^T / sqrt(head_dim)</c>. A sequence longer than <see cref="TransformerBaselineOptions.MaxSeqLength"/>
/// is refused: the model has no position embedding for it.
/// </remarks>
public sealed partial class TransformerBaselineModel : LanguageModel
{
    private readonly Embedding _tokenEmbedding;
    private readonly Embedding _positionEmbedding;
    private readonly Dropout _dropout;
    private readonly BaselineBlock[] _blocks;
    private readonly LayerNorm _lnF;
    private readonly Linear _outputProjection;
    private ScalarType? _computeDType;

    /// <summary>
    /// Creates a model with freshly initialised weights (normal(0, 0.02) Linear and Embedding weights, zero biases, unit
    /// LayerNorms), drawn from a generator seeded with <see cref="TransformerBaselineOptions.Seed"/> when it is set, from
    /// the global generator otherwise.
    /// </summary>
    /// <param name="options">Sizes of the model and the seed of its weights; validated.</param>
    /// <param name="device">Where to put the parameters; the CPU when null.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range.</exception>
    public TransformerBaselineModel(TransformerBaselineOptions options, Device? device = null) : base(TorchBackend.EnsureLoaded(nameof(TransformerBaselineModel)))
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Clone().Validate();
        int e = Options.EmbedDim;
        _tokenEmbedding = Embedding(Options.VocabSize, e);
        _positionEmbedding = Embedding(Options.MaxSeqLength, e);
        _dropout = Dropout(Options.Dropout);
        _blocks = Enumerable.Range(0, Options.NumLayers).Select(_ => new BaselineBlock(e, Options.NumHeads, Options.HiddenDim, Options.Dropout)).ToArray();
        _lnF = LayerNorm(e);
        _outputProjection = Linear(e, Options.VocabSize);
        register_module("token_embedding", _tokenEmbedding);
        register_module("position_embedding", _positionEmbedding);
        register_module("dropout", _dropout);
        register_module("blocks", ModuleList(_blocks));
        register_module("ln_f", _lnF);
        register_module("output_projection", _outputProjection);

        using (Generator? generator = Options.Seed is int seed ? new Generator(unchecked((ulong)seed)) : null)
        {
            ResetParameters(generator);
        }

        if (device is not null)
        {
            this.to(device);
        }
    }

    /// <summary>The options the model was built with (a copy; changing it does not change the model).</summary>
    public TransformerBaselineOptions Options { get; }

    /// <inheritdoc />
    public override string ModelType => TransformerBaselineType;

    /// <inheritdoc />
    public override int VocabSize => Options.VocabSize;

    /// <summary>The number of learned positions, <see cref="TransformerBaselineOptions.MaxSeqLength"/>: the longest sequence a forward pass reads.</summary>
    public override int? MaxSequenceLength => Options.MaxSeqLength;

    /// <inheritdoc />
    public override string OptionsDescription => Options.ToString();

    /// <summary>The device of the model's parameters.</summary>
    public override Device Device => _tokenEmbedding.weight!.device;

    /// <summary>
    /// The dtype of the Linear products (QKV and output projections of the attention, the FFN, the output projection)
    /// while gradients are recorded; null (the default) computes in the parameters' dtype. With
    /// <see cref="ScalarType.BFloat16"/> the embeddings, attention itself (<c>scaled_dot_product_attention</c>),
    /// LayerNorms, log-softmax and loss stay in the parameters' dtype, as do the weights, gradients and optimizer state.
    /// </summary>
    /// <exception cref="ArgumentException">Set to something other than null or <see cref="ScalarType.BFloat16"/>.</exception>
    public override ScalarType? ComputeDType
    {
        get => _computeDType;
        set => _computeDType = MixedPrecision.CheckComputeDType(value);
    }

    /// <summary>
    /// Re-initialises every weight as the original's <c>_init_weights</c> does: normal(0, 0.02) Linear and Embedding
    /// weights, zero biases, LayerNorm weights 1 and biases 0, drawn in the original's module order.
    /// </summary>
    /// <param name="generator">Random source; the global generator when null (seed it with <c>torch.manual_seed</c>).</param>
    public void ResetParameters(Generator? generator = null)
    {
        using var noGrad = no_grad();
        var layerNorms = named_modules().Where(m => m.module is LayerNorm).Select(m => m.name + ".weight").ToHashSet(StringComparer.Ordinal);
        foreach ((string name, Parameter parameter) in named_parameters())
        {
            if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                init.zeros_(parameter);
            }
            else if (layerNorms.Contains(name))
            {
                init.ones_(parameter);
            }
            else
            {
                // TorchSharp's init.normal_ ignores its generator argument; the tensor's own normal_ honours it.
                _ = generator is null ? init.normal_(parameter, 0.0, NewLlmModel.InitStd) : parameter.normal_(0.0, NewLlmModel.InitStd, generator);
            }
        }
    }

    /// <summary>The next-token logits of every position.</summary>
    /// <param name="ids">Token ids, int64, [batch, time] with time at most <see cref="TransformerBaselineOptions.MaxSeqLength"/>.</param>
    /// <returns>Logits [batch, time, vocabulary]; those of position t depend on tokens 0..t only.</returns>
    /// <exception cref="ArgumentException">The ids have the wrong type or shape, an id outside the vocabulary, or more positions than the model has.</exception>
    public override Tensor forward(Tensor ids)
    {
        TokenIdChecks.Ids(ids, Options.VocabSize);
        using var scope = NewDisposeScope();
        return _outputProjection.call(Hidden(ids)).MoveToOuterDisposeScope();
    }

    /// <summary>The final LayerNorm's output [batch, time, embed], before the output projection (ids already checked).</summary>
    private Tensor Hidden(Tensor ids)
    {
        long time = ids.shape[1];
        if (time > Options.MaxSeqLength)
        {
            throw new ArgumentException($"Token ids have {time} positions, but the model has only {Options.MaxSeqLength} (TransformerBaselineOptions.MaxSeqLength): pass at most {Options.MaxSeqLength} tokens (a next-token loss reads one more), or build the model with a larger MaxSeqLength.", nameof(ids));
        }

        using Scalar end = time.ToScalar();
        Tensor positions = arange(HeldScalars.Zero, end, HeldScalars.One, dtype: ScalarType.Int64, device: ids.device);
        Tensor x = _dropout.call(_tokenEmbedding.call(ids).add(_positionEmbedding.call(positions).unsqueeze(0), HeldScalars.One));
        ScalarType? productDType = ProductDType;
        foreach (BaselineBlock block in _blocks)
        {
            x = block.Forward(x, productDType);
        }

        return _lnF.call(x);
    }

    // ComputeDType while gradients are recorded, otherwise null (the parameters' dtype).
    private ScalarType? ProductDType => MixedPrecision.ProductDType(_computeDType);

    /// <summary>The parameter names and shapes of a model with <paramref name="options"/>, in state-dict order.</summary>
    internal static List<KeyValuePair<string, long[]>> ShapesOf(TransformerBaselineOptions options)
    {
        long v = options.VocabSize, e = options.EmbedDim, h = options.HiddenDim;
        var shapes = new List<KeyValuePair<string, long[]>> { new("token_embedding.weight", [v, e]), new("position_embedding.weight", [options.MaxSeqLength, e]) };
        for (int i = 0; i < options.NumLayers; i++)
        {
            string p = $"blocks.{i}.";
            shapes.AddRange([
                new(p + "attention.qkv_proj.weight", [3 * e, e]), new(p + "attention.qkv_proj.bias", [3 * e]),
                new(p + "attention.out_proj.weight", [e, e]), new(p + "attention.out_proj.bias", [e]),
                new(p + "norm1.weight", [e]), new(p + "norm1.bias", [e]),
                new(p + "ffn.0.weight", [h, e]), new(p + "ffn.0.bias", [h]),
                new(p + "ffn.3.weight", [e, h]), new(p + "ffn.3.bias", [e]),
                new(p + "norm2.weight", [e]), new(p + "norm2.bias", [e])]);
        }

        shapes.AddRange([new("ln_f.weight", [e]), new("ln_f.bias", [e]), new("output_projection.weight", [v, e]), new("output_projection.bias", [v])]);
        return shapes;
    }
}
