using static TorchSharp.torch.nn;

namespace NewLlm;

/// <summary>
/// What training, evaluation and checkpoints need from a next-token language model, whatever its architecture:
/// <see cref="NewLlmModel"/> (no attention, a fixed-size context vector) and <see cref="TransformerBaselineModel"/> (the
/// original's GPT-style baseline) are the two. A TorchSharp module with the next-token loss (chunked, so the logits of a
/// whole batch never exist), the dtype of its training products (<see cref="ComputeDType"/>), its size, device, kind
/// (<see cref="ModelType"/>) and options, and its weights in safetensors and PyTorch files.
/// </summary>
/// <remarks>
/// What only one architecture has stays on it: New-LLM's context expansion, added layers and streaming state are
/// <see cref="NewLlmModel"/>'s; attention's sequence bound is <see cref="MaxSequenceLength"/> here, null for a model
/// without one. Only this library's models derive from it, so that a checkpoint can always rebuild the model it holds
/// from <see cref="ModelType"/> and its options.
/// </remarks>
public abstract class LanguageModel : Module<Tensor, Tensor>
{
    /// <summary>The <see cref="ModelType"/> of <see cref="NewLlmModel"/>: <c>new_llm</c> (a checkpoint that records no type holds one).</summary>
    public const string NewLlmType = "new_llm";

    /// <summary>The <see cref="ModelType"/> of <see cref="TransformerBaselineModel"/>: <c>transformer_baseline</c>.</summary>
    public const string TransformerBaselineType = "transformer_baseline";

    private protected LanguageModel(string name) : base(name)
    {
    }

    /// <summary>
    /// Creates the model a <c>torch.save</c> file holds (a flat state dict or the original trainer's checkpoint dict),
    /// its kind told by its parameter names: a <see cref="TransformerBaselineModel"/> when it has attention blocks (its
    /// heads from the config's <c>num_heads</c>, else <see cref="TransformerBaselineOptions.NumHeads"/>'s default), a
    /// <see cref="NewLlmModel"/> otherwise; sizes inferred from the shapes, in evaluation mode.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="device">Where to put the parameters; the CPU when null.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a PyTorch checkpoint, or its tensors are neither model's state dict.</exception>
    public static LanguageModel LoadFromPyTorch(string path, Device? device = null)
    {
        int? heads;
        using (PyTorchCheckpoint checkpoint = PyTorchCheckpoint.Read(path))
        {
            if (!checkpoint.ModelState.ContainsKey(TransformerBaselineModel.FirstAttentionWeight))
            {
                return NewLlmModel.FromPyTorch(path, device);
            }

            heads = TransformerBaselineModel.RecordedHeads(checkpoint.Config);
        }

        return TransformerBaselineModel.FromPyTorch(path, heads ?? new TransformerBaselineOptions().NumHeads, device: device);
    }

    /// <summary>Which architecture this is, as checkpoints record it: <see cref="NewLlmType"/> or <see cref="TransformerBaselineType"/>.</summary>
    public abstract string ModelType { get; }

    /// <summary>Number of token ids the model embeds and predicts.</summary>
    public abstract int VocabSize { get; }

    /// <summary>The most positions one forward pass reads (a next-token loss reads one more token), or null when the model has no bound (New-LLM).</summary>
    public abstract int? MaxSequenceLength { get; }

    /// <summary>The device of the model's parameters.</summary>
    public abstract Device Device { get; }

    /// <summary>The number of parameters (weights and biases).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// The dtype of the matrix products while gradients are recorded (training), for mixed precision: null (the default)
    /// computes in the parameters' dtype, <see cref="ScalarType.BFloat16"/> runs the training path's matrix products in
    /// bfloat16 while parameters, gradients and optimizer state stay in the parameters' dtype. Without gradients
    /// (evaluation, generation) the model always computes in its parameters' dtype.
    /// </summary>
    /// <exception cref="ArgumentException">Set to something other than null or <see cref="ScalarType.BFloat16"/>.</exception>
    public abstract ScalarType? ComputeDType { get; set; }

    /// <summary>The options the model was built with, in words (<c>VocabSize=1000, EmbedDim=256, ...</c>), for reports and messages.</summary>
    public abstract string OptionsDescription { get; }

    /// <summary>
    /// The next-token cross-entropy of <c>ids[:, :-1]</c> against <c>ids[:, 1:]</c>, targets equal to
    /// <paramref name="ignoreIndex"/> not counted, computed chunk by chunk of positions (see <see cref="NewLlmLoss"/>).
    /// </summary>
    /// <param name="ids">Token ids, int64, [batch, time] with time of at least 2 (and at most <see cref="MaxSequenceLength"/> + 1 when the model has a bound).</param>
    /// <param name="ignoreIndex">The target id that is not counted (the PAD id; 0 in the original).</param>
    /// <returns>The loss; call <c>backward()</c> on its <see cref="NewLlmLoss.Loss"/> once when gradients are recorded.</returns>
    /// <exception cref="ArgumentException">The ids have the wrong type or shape, too few or too many positions, or an id outside the vocabulary.</exception>
#pragma warning disable RS0027 // The ids form has the common default (PAD id 0, the original's); the inputs/targets form takes the id explicitly.
    public NewLlmLoss NextTokenLoss(Tensor ids, long ignoreIndex = 0)
#pragma warning restore RS0027
    {
        (Tensor inputs, Tensor targets) = TokenIdChecks.NextTokenPairs(ids, VocabSize);
        using (inputs)
        using (targets)
        {
            return NextTokenLoss(inputs, targets, ignoreIndex);
        }
    }

    /// <summary>The next-token cross-entropy of <paramref name="inputs"/> against <paramref name="targets"/> of the same shape, as <see cref="NextTokenLoss(Tensor, long)"/>.</summary>
    /// <param name="inputs">Token ids, int64, [batch, positions].</param>
    /// <param name="targets">The next token at every position, int64, [batch, positions]: ids of the vocabulary, or <paramref name="ignoreIndex"/>.</param>
    /// <param name="ignoreIndex">The target id that is not counted.</param>
    /// <returns>The loss; call <c>backward()</c> on its <see cref="NewLlmLoss.Loss"/> once when gradients are recorded.</returns>
    /// <exception cref="ArgumentException">A tensor has the wrong type or shape, too many positions, or an id or target outside the vocabulary.</exception>
    public abstract NewLlmLoss NextTokenLoss(Tensor inputs, Tensor targets, long ignoreIndex);

    /// <summary>Frees buffers the model keeps from one training step to the next (New-LLM's workspace); nothing for a model that keeps none.</summary>
    public virtual void ReleaseTrainingBuffers()
    {
    }

    /// <summary>Writes the weights as float32 safetensors with the original's parameter names (to a temporary file, then renamed).</summary>
    /// <param name="path">The file to create or replace.</param>
    public abstract void SaveSafetensors(string path);

    /// <summary>Loads weights from a safetensors file with the original's parameter names, every one with this model's shape.</summary>
    /// <param name="path">The file.</param>
    /// <param name="allowUnexpected">When false (the default), a tensor the model does not have is an error.</param>
    /// <exception cref="InvalidDataException">The file is malformed, a parameter is missing, or its shape differs; the model is untouched.</exception>
    public abstract void LoadSafetensors(string path, bool allowUnexpected = false);

    /// <summary>Writes the weights as <c>torch.save(model.state_dict(), path)</c> does (zip format, float32, the original's names; to a temporary file, then renamed).</summary>
    /// <param name="path">The file to create or replace (conventionally <c>.pt</c> or <c>.pth</c>).</param>
    public abstract void SavePyTorch(string path);

    /// <summary>Loads weights from a <c>torch.save</c> file: a flat state dict, or the original trainer's checkpoint dict (its <c>model_state_dict</c>); exactly the model's parameters, with its shapes.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a PyTorch checkpoint, or a parameter is missing, unexpected, of another shape or not floating-point; the model is untouched.</exception>
    public abstract void LoadPyTorch(string path);

    /// <summary>Loads weights from a <c>torch.save</c> archive in a seekable stream (left open), as <see cref="LoadPyTorch(string)"/> does.</summary>
    /// <param name="stream">The archive, readable and seekable.</param>
    /// <param name="sourceName">The file's name, for messages.</param>
    /// <exception cref="InvalidDataException">As for <see cref="LoadPyTorch(string)"/>; the model is untouched.</exception>
    public abstract void LoadPyTorch(Stream stream, string sourceName);
}
