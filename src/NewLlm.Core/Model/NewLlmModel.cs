using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm;

/// <summary>
/// The New-LLM language model: no attention, a fixed-size context vector as its whole state.
/// At each position t:
/// <code>
/// h_t      = FNN([embed(x_t) ; c_t])                          (NumLayers x Linear+ReLU+Dropout)
/// logits_t = token_output(h_t)
/// c_{t+1}  = clamp(LayerNorm(sigmoid(forget_gate(h_t)) * c_t + sigmoid(input_gate(h_t)) * context_update(h_t)), -10, 10),  c_0 = 0
/// </code>
/// Parameter names match the original PyTorch state dict (<c>token_embedding.weight</c>,
/// <c>fnn_layers.{3i}.weight</c>, <c>token_output.*</c>, <c>context_update.*</c>, <c>forget_gate.*</c>,
/// <c>input_gate.*</c>, <c>context_norm.*</c>), so weights move between the two.
/// </summary>
/// <remarks>
/// <see cref="forward"/> computes the original's per-position loop (<see cref="ContextRecurrence.Reference"/>),
/// restructured for speed: the embedding's share of the first Linear is computed once for all positions, and the
/// output head once for the stacked hidden states. When gradients are recorded, the recurrence is one autograd node
/// with a hand-written backward through time (<see cref="RecurrenceFunction"/>, <c>Model/FastPath/</c>) that splits
/// the batch rows across threads (libtorch's intra-op parallelism is set to 1 meanwhile, then restored).
/// </remarks>
public sealed partial class NewLlmModel : LanguageModel
{
    /// <summary>Lower bound of the context clamp.</summary>
    public const double ContextClampMin = -10.0;

    /// <summary>Upper bound of the context clamp.</summary>
    public const double ContextClampMax = 10.0;

    /// <summary>Standard deviation of the normal initialisation of Linear and Embedding weights.</summary>
    public const double InitStd = 0.02;

    private readonly Embedding _tokenEmbedding;

    // The original's nn.Sequential of (Linear, ReLU, Dropout) per layer, only for the parameter names
    // fnn_layers.{3i}.weight and .bias: the forward reads _fnnLinears and applies ReLU and dropout itself.
    private readonly Sequential _fnnLayers;
    private readonly Linear[] _fnnLinears;
    private readonly Linear _tokenOutput;
    private readonly Linear _contextUpdate;
    private readonly Linear _forgetGate;
    private readonly Linear _inputGate;
    private readonly LayerNorm _contextNorm;
    private readonly TrainingWorkspace _workspace = new();
    private ScalarType? _computeDType;

    /// <summary>
    /// Creates a model with freshly initialised weights (normal(0, 0.02) weights, zero biases), drawn from a generator
    /// seeded with <see cref="NewLlmOptions.Seed"/> when it is set (the same weights in every process), from the
    /// global generator otherwise.
    /// </summary>
    /// <param name="options">Sizes of the model and the seed of its weights; validated.</param>
    /// <param name="device">Where to put the parameters; the CPU when null.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range.</exception>
    public NewLlmModel(NewLlmOptions options, Device? device = null) : base(TorchBackend.EnsureLoaded(nameof(NewLlmModel)))
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Clone().Validate();

        int e = Options.EmbedDim, h = Options.HiddenDim, c = Options.ContextDim, v = Options.VocabSize;
        _tokenEmbedding = Embedding(v, e);
        _fnnLinears = new Linear[Options.NumLayers];
        var stack = new List<Module<Tensor, Tensor>>();
        for (int i = 0; i < Options.NumLayers; i++)
        {
            _fnnLinears[i] = Linear(i == 0 ? e + c : h, h);
            stack.AddRange([_fnnLinears[i], ReLU(), Dropout(Options.Dropout)]);
        }

        _fnnLayers = Sequential(stack);
        _tokenOutput = Linear(h, v);
        _contextUpdate = Linear(h, c);
        _forgetGate = Linear(h, c);
        _inputGate = Linear(h, c);
        _contextNorm = LayerNorm(c);

        register_module("token_embedding", _tokenEmbedding);
        register_module("fnn_layers", _fnnLayers);
        register_module("token_output", _tokenOutput);
        register_module("context_update", _contextUpdate);
        register_module("forget_gate", _forgetGate);
        register_module("input_gate", _inputGate);
        register_module("context_norm", _contextNorm);

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
    public NewLlmOptions Options { get; }

    /// <inheritdoc />
    public override string ModelType => NewLlmType;

    /// <inheritdoc />
    public override int VocabSize => Options.VocabSize;

    /// <summary>Always null: New-LLM reads sequences of any length, its state being one context vector.</summary>
    public override int? MaxSequenceLength => null;

    /// <inheritdoc />
    public override string OptionsDescription => Options.ToString();

    /// <summary>The device of the model's parameters.</summary>
    public override Device Device => _tokenEmbedding.weight!.device;

    /// <summary>
    /// The dtype of the matrix products while gradients are recorded (training), for mixed precision; null (the
    /// default) computes in the parameters' dtype. <see cref="ScalarType.BFloat16"/> runs every matrix product of the
    /// training path and its backward in bfloat16, the weights cast once per step, while the parameters, gradients and
    /// optimizer state (master weights) and the numerically touchy parts (context state, sigmoid, LayerNorm, clamp,
    /// log-softmax, loss) stay in the parameters' dtype.
    /// </summary>
    /// <remarks>
    /// Without gradients (evaluation, generation, <see cref="Step(Tensor, NewLlmState)"/>) the model computes in its
    /// parameters' dtype, so validation figures measure the weights themselves. On a CPU without native bfloat16
    /// products libtorch emulates them, many times slower than float32:
    /// <see cref="TorchBackend.EnsureFastBFloat16(Device, string?, string?)"/> refuses such a processor (the trainer calls it).
    /// </remarks>
    /// <exception cref="ArgumentException">Set to something other than null or <see cref="ScalarType.BFloat16"/>.</exception>
    public override ScalarType? ComputeDType
    {
        get => _computeDType;
        set => _computeDType = MixedPrecision.CheckComputeDType(value);
    }

    /// <summary>Re-initialises every weight as the original does: normal(0, 0.02) weights, zero biases, LayerNorm 1 / 0.</summary>
    /// <param name="generator">Random source; the global generator when null (seed it with <c>torch.manual_seed</c>).</param>
    public void ResetParameters(Generator? generator = null)
    {
        using var noGrad = torch.no_grad();
        // The original walks modules in registration order: embedding, the FNN stack, output, three heads.
        var linears = new List<Linear>(_fnnLinears) { _tokenOutput, _contextUpdate, _forgetGate, _inputGate };
        Normal(_tokenEmbedding.weight!);
        foreach (Linear linear in linears)
        {
            Normal(linear.weight!);
            init.zeros_(linear.bias!);
        }

        init.ones_(_contextNorm.weight!);
        init.zeros_(_contextNorm.bias!);

        // TorchSharp's init.normal_ ignores its generator argument; the tensor's own normal_ honours it.
        void Normal(Tensor weight) => _ = generator is null ? init.normal_(weight, 0.0, InitStd) : weight.normal_(0.0, InitStd, generator);
    }

    /// <summary>
    /// A new model whose context vector has <paramref name="newContextDim"/> dimensions, made from this one's weights
    /// (this model is untouched; the new one is on the same device, in the same training mode). Context dimensions
    /// 0..C-1 of the new model are this model's; what the others start as is <paramref name="method"/>'s rule.
    /// </summary>
    /// <param name="newContextDim">The new context size, larger than <see cref="NewLlmOptions.ContextDim"/>; a multiple of it for <see cref="ContextExpansion.Replicate"/>.</param>
    /// <param name="method"><see cref="ContextExpansion.Original"/> (the original's rule; the function changes) or <see cref="ContextExpansion.Replicate"/> (the function is kept).</param>
    /// <param name="noiseStd">For <see cref="ContextExpansion.Replicate"/>: the standard deviation of normal noise added to the copies' rows of the context update and gate weights (not the first copy), so that they can diverge in training; 0 keeps the copies equal and the function exact.</param>
    /// <param name="seed">The seed of the noise; the global generator when null.</param>
    /// <returns>The expanded model.</returns>
    /// <exception cref="ArgumentException">The new size is not larger, or (replication) not a multiple; noise with <see cref="ContextExpansion.Original"/>.</exception>
    public NewLlmModel ExpandContext(int newContextDim, ContextExpansion method = ContextExpansion.Original, double noiseStd = 0, long? seed = null) =>
        ContextExpander.Expand(this, newContextDim, method, noiseStd, seed);

    /// <summary>
    /// A new model with <paramref name="newNumLayers"/> hidden layers, made from this one's weights (this model is
    /// untouched; the new one is on the same device, in the same training mode). The new layers come after the old ones
    /// and start as identity maps (weight I, bias 0), so the deeper model computes the same logits (in evaluation; in
    /// training each new layer adds its own dropout); training moves them from there. The original plans 1 → 4 → 8-12
    /// layers along its progression.
    /// </summary>
    /// <param name="newNumLayers">The new number of layers, larger than <see cref="NewLlmOptions.NumLayers"/>.</param>
    /// <returns>The deeper model.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The new number is not larger than the model's.</exception>
    public NewLlmModel AddLayers(int newNumLayers) => LayerGrower.Grow(this, newNumLayers);

    /// <summary>
    /// A new model for another vocabulary, made from this one's weights (this model is untouched; the new one is on the
    /// same device, in the same dtype and training mode): the token embedding and the output layer are initialised anew
    /// for <paramref name="vocabSize"/> ids (normal(0, 0.02) weights, zero biases, as a new model's), every other weight
    /// is copied. For a model that goes on with a rebuilt vocabulary, whose ids mean other words than the ones it learnt.
    /// </summary>
    /// <param name="vocabSize">The new vocabulary's size; it may differ from <see cref="NewLlmOptions.VocabSize"/>.</param>
    /// <param name="seed">The seed of the new embedding and output weights (it becomes the new model's <see cref="NewLlmOptions.Seed"/>); TorchSharp's global generator when null.</param>
    /// <returns>The model with fresh vocabulary layers.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The vocabulary size is not positive.</exception>
    public NewLlmModel WithFreshVocabulary(int vocabSize, int? seed = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        NewLlmOptions options = Options.Clone();
        options.VocabSize = vocabSize;
        options.Seed = seed;
        return DerivedModel.Create(this, options, (name, parameter, source) =>
        {
            if (!name.StartsWith("token_embedding.", StringComparison.Ordinal) && !name.StartsWith("token_output.", StringComparison.Ordinal))
            {
                parameter.copy_(source!);
            }
        });
    }

    /// <summary>Next-token logits for a batch of token ids.</summary>
    /// <param name="input">Token ids, int64, [batch, time], every id in [0, VocabSize).</param>
    /// <returns>Logits, [batch, time, VocabSize].</returns>
    /// <exception cref="ArgumentException">The ids have the wrong type or shape, the batch is empty, or an id is outside the vocabulary.</exception>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        (Tensor logits, _) = Run(input, initialContext: null);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Frees the parameters and the training buffers.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _workspace.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Moves the parameters, after <see cref="TorchBackend.EnsureDeviceAvailable(Device, string?)"/> has checked that the device exists.</summary>
    /// <exception cref="InvalidOperationException">CUDA is asked for and not available, or the CUDA index is out of range; the model is untouched.</exception>
    protected override Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking)
    {
        TorchBackend.EnsureDeviceAvailable(deviceType, deviceIndex, nameof(NewLlmModel));
        return base._to(deviceType, deviceIndex, non_blocking);
    }

    /// <summary>Moves and converts the parameters, after <see cref="TorchBackend.EnsureDeviceAvailable(Device, string?)"/> has checked that the device exists.</summary>
    /// <exception cref="InvalidOperationException">CUDA is asked for and not available, or the CUDA index is out of range; the model is untouched.</exception>
    protected override Module _to(Device device, ScalarType dtype, bool non_blocking)
    {
        ArgumentNullException.ThrowIfNull(device);
        TorchBackend.EnsureDeviceAvailable(device.type, device.index, nameof(NewLlmModel));
        return base._to(device, dtype, non_blocking);
    }

    private void CheckIds(Tensor ids) => TokenIdChecks.Ids(ids, Options.VocabSize);

    // The embedding's share of the first Linear plus its bias, as a table [N, H] and each position's row of it [B, T]:
    // one row per vocabulary entry when there are fewer entries than positions (far fewer products), else per position.
    private (Tensor Table, Tensor Index, bool RowPerPosition) EmbeddingShare(Tensor ids, Tensor wEmbed, Tensor bias)
    {
        long batch = ids.shape[0], time = ids.shape[1];
        if (Options.VocabSize < batch * time)
        {
            return (MixedLinear(_tokenEmbedding.weight!, wEmbed, bias), ids, false);
        }

        Tensor perPosition = MixedLinear(_tokenEmbedding.call(ids.reshape(-1)), wEmbed, bias);
        using Scalar end = (batch * time).ToScalar();
        return (perPosition, arange(HeldScalars.Zero, end, HeldScalars.One, dtype: ScalarType.Int64, device: ids.device).view(batch, time), true);
    }

    // Logits and contexts for every position: the recurrence, then the output head once for all positions.
    // inference: no dropout even in training mode.
    private (Tensor Logits, Tensor Contexts) Run(Tensor ids, Tensor? initialContext, bool inference = false)
    {
        CheckIds(ids);
        int batch = (int)ids.shape[0];
        int c = Options.ContextDim;
        if (initialContext is not null && (initialContext.shape[0] != batch || initialContext.shape[1] != c))
        {
            throw new ArgumentException($"The initial state has shape [{string.Join(", ", initialContext.shape)}], expected [{batch}, {c}].", nameof(initialContext));
        }

        (Tensor hidden, Tensor contexts) = Hidden(ids, initialContext, inference: inference);
        return (MixedLinear(hidden, _tokenOutput.weight!, _tokenOutput.bias!), contexts);
    }

    // ComputeDType while gradients are recorded, otherwise null (the parameters' dtype).
    private ScalarType? ProductDType => MixedPrecision.ProductDType(_computeDType);

    private Tensor MixedLinear(Tensor x, Tensor weight, Tensor bias) => MixedPrecision.Linear(x, weight, bias, ProductDType);

    // The last FNN layer's output [B, T, H] and the contexts [B, T, C] (ids checked by the caller). Without gradients the
    // recurrence is ContextRecurrence.Reference; with them, one autograd node with a hand-written backward computing the
    // same function. Without a lease the fast path's buffers are fresh (the caller's to keep).
    private (Tensor Hidden, Tensor Contexts) Hidden(Tensor ids, Tensor? initialContext, WorkspaceLease? lease = null, bool inference = false)
    {
        RecurrenceWeights weights = Weights();
        Tensor first = weights.Layers[0].Weight;
        Tensor start = initialContext ?? zeros(ids.shape[0], Options.ContextDim, dtype: first.dtype, device: first.device);
        return torch.is_grad_enabled()
            ? RecurrenceWithGradients(weights, ids, start, lease)
            : ContextRecurrence.Reference(weights, ids, start, Options.Dropout, training && !inference);
    }

    // Hoisted out of the time loop: the embedding's share of the first Linear, and the three context heads' weights
    // fused for one product per position (a copy per call: small next to a training batch, not next to one generated
    // token, so the reference keeps them apart).
    private (Tensor Hidden, Tensor Contexts) RecurrenceWithGradients(RecurrenceWeights weights, Tensor ids, Tensor start, WorkspaceLease? lease)
    {
        Tensor heads = cat([weights.ContextUpdate.Weight, weights.ForgetGate.Weight, weights.InputGate.Weight], 0);
        Tensor headsBias = cat([weights.ContextUpdate.Bias, weights.ForgetGate.Bias, weights.InputGate.Bias], 0);
        (Tensor table, Tensor index, bool rowPerPosition) = EmbeddingShare(ids, weights.FirstEmbeddingWeight, weights.Layers[0].Bias);
        var inputs = new RecurrenceInputs(
            index, table, start, weights.FirstContextWeight, heads, headsBias, weights.ContextNorm.Weight, weights.ContextNorm.Bias, weights.Layers.Skip(1).ToArray());
        return RecurrenceFunction.Apply(training ? Options.Dropout : 0.0, rowPerPosition, inputs, lease, ProductDType);
    }

    private RecurrenceWeights Weights() => new(
        _tokenEmbedding.weight!,
        _fnnLinears.Select(l => ((Tensor)l.weight!, (Tensor)l.bias!)).ToArray(),
        (_contextUpdate.weight!, _contextUpdate.bias!),
        (_forgetGate.weight!, _forgetGate.bias!),
        (_inputGate.weight!, _inputGate.bias!),
        (_contextNorm.weight!, _contextNorm.bias!));
}
