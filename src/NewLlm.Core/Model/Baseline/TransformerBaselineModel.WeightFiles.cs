namespace NewLlm;

// Reading and writing the weights through the library's safetensors and PyTorch codecs (Weights/).
public sealed partial class TransformerBaselineModel
{
    /// <summary>Writes the weights as float32 safetensors with the original baseline's parameter names (to a temporary file, then renamed).</summary>
    /// <param name="path">The file to create or replace.</param>
    public override void SaveSafetensors(string path) =>
        SafetensorsFile.Write(path, state_dict(), new Dictionary<string, string> { ["format"] = "pt", ["newllm.baseline_options"] = Options.ToString() });

    /// <summary>Loads weights from a safetensors file with the original baseline's parameter names, every one with this model's shape (checked before any tensor is read).</summary>
    /// <param name="path">The file.</param>
    /// <param name="allowUnexpected">When false (the default), a tensor the model does not have is an error.</param>
    /// <exception cref="InvalidDataException">The file is malformed, a parameter is missing, or its shape differs; the model is untouched.</exception>
    public override void LoadSafetensors(string path, bool allowUnexpected = false) =>
        SafetensorsWeights.WithTensors(path, _ => Options, ShapesOf, allowUnexpected, (_, tensors) =>
        {
            SafetensorsWeights.LoadStateFrom(this, tensors);
            return this;
        });

    /// <summary>
    /// Creates a model whose sizes are inferred from the tensor shapes in a safetensors file and loads its weights; the
    /// model is in evaluation mode (call <c>train()</c> to fine-tune it). The head count is not in the weights.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="numHeads">Attention heads per block (the embedding width must be a multiple of it).</param>
    /// <param name="dropout">Dropout of the new model (not stored in weights).</param>
    /// <param name="allowUnexpected">Whether tensors the model does not have are ignored.</param>
    /// <exception cref="InvalidDataException">The file is malformed, or its tensors are not a baseline state dict.</exception>
    public static TransformerBaselineModel FromSafetensors(string path, int numHeads, double dropout = 0.1, bool allowUnexpected = false) =>
        SafetensorsWeights.WithTensors(path, shapes => InferOptions(shapes, path, numHeads, dropout), ShapesOf, allowUnexpected, (options, tensors) => CreateLoaded(options, tensors, device: null));

    /// <summary>Writes the weights as <c>torch.save(model.state_dict(), path)</c> does (zip format, float32, the original baseline's names; to a temporary file, then renamed).</summary>
    /// <param name="path">The file to create or replace (conventionally <c>.pt</c> or <c>.pth</c>).</param>
    public override void SavePyTorch(string path) => PyTorchCheckpointFormat.WriteStateDict(state_dict(), path);

    /// <summary>
    /// Loads weights from a <c>torch.save</c> file: a flat state dict, or the original trainer's checkpoint dict (its
    /// <c>model_state_dict</c>), float16, bfloat16 and float64 converted. Exactly the model's parameters must be there,
    /// with its shapes (checked before any tensor is read); they keep their identity and requires_grad flags.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a PyTorch checkpoint, or a parameter is missing, unexpected, of another shape or not floating-point; the model is untouched.</exception>
    public override void LoadPyTorch(string path)
    {
        using FileStream stream = PyTorchCheckpointFormat.OpenRead(path, out string fullPath);
        LoadPyTorch(stream, fullPath);
    }

    /// <summary>Loads weights from a <c>torch.save</c> archive in a seekable stream (left open), as <see cref="LoadPyTorch(string)"/> does.</summary>
    /// <param name="stream">The archive, readable and seekable.</param>
    /// <param name="sourceName">The file's name, for messages.</param>
    /// <exception cref="InvalidDataException">As for <see cref="LoadPyTorch(string)"/>; the model is untouched.</exception>
    public override void LoadPyTorch(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        PyTorchWeights.WithModelState(stream, sourceName, _ => ShapesOf(Options), state =>
        {
            SafetensorsWeights.LoadStateFrom(this, state);
            return this;
        });
    }

    /// <summary>
    /// Creates a model from a <c>torch.save</c> file (a flat state dict, the original trainer's checkpoint dict, or a
    /// NewLlm checkpoint), its sizes inferred from the tensor shapes and its heads from the file's config
    /// (<c>num_heads</c>, which NewLlm's checkpoints record), in evaluation mode (call <c>train()</c> to fine-tune it).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="numHeads">
    /// Attention heads per block (the embedding width must be a multiple of it): null to take the file's; required for a
    /// file that records none (a state dict such as the original's); refused when it differs from the file's.
    /// </param>
    /// <param name="dropout">Dropout of the new model (not in the weights; the original's 0.1 by default).</param>
    /// <param name="device">Where to put the parameters; the CPU when null.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a PyTorch checkpoint, or its tensors are not a baseline state dict.</exception>
    /// <exception cref="ArgumentException"><paramref name="numHeads"/> differs from the file's, or is null and the file records none.</exception>
    public static TransformerBaselineModel FromPyTorch(string path, int? numHeads = null, double dropout = 0.1, Device? device = null)
    {
        using FileStream stream = PyTorchCheckpointFormat.OpenRead(path, out string fullPath);
        int heads = HeadsFor(fullPath, RecordedHeads(PyTorchCheckpointFormat.ReadConfig(stream, fullPath)), numHeads);
        stream.Position = 0;
        TransformerBaselineOptions? options = null;
        return PyTorchWeights.WithModelState(stream, fullPath, shapes => ShapesOf(options = InferOptions(shapes, fullPath, heads, dropout)), state => CreateLoaded(options!, state, device));
    }

    /// <summary>The head count a checkpoint's config records (<c>num_heads</c>), or null when it records none.</summary>
    internal static int? RecordedHeads(IDictionary<string, object?> config) =>
        config.TryGetValue("num_heads", out object? value) && value is int n and > 0 ? n : null; // read as an int when it fits one

    // The heads to build: the file's, or the caller's when the file records none; a caller's that differs is refused.
    private static int HeadsFor(string source, int? recorded, int? numHeads) => (recorded, numHeads) switch
    {
        (int saved, int asked) when saved != asked => throw new ArgumentException(
            $"{source} records {saved} attention heads, but numHeads is {asked}: leave numHeads out to build the file's {saved}; other heads would compute another model with the same weights.", nameof(numHeads)),
        (int saved, _) => saved,
        (null, int asked) => asked,
        (null, null) => throw new ArgumentException(
            $"{source} records no head count (a state dict such as the original's keeps only weights): give numHeads (the original's TransformerLM used {new TransformerBaselineOptions().NumHeads}).", nameof(numHeads)),
    };

    /// <summary>A new model of <paramref name="options"/> with <paramref name="tensors"/> loaded, in evaluation mode.</summary>
    private static TransformerBaselineModel CreateLoaded(TransformerBaselineOptions options, IReadOnlyDictionary<string, Tensor> tensors, Device? device)
    {
        var model = new TransformerBaselineModel(options, device);
        try
        {
            SafetensorsWeights.LoadStateFrom(model, tensors);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The name of the first block's fused QKV weight: a state dict that holds it is a baseline's.</summary>
    internal const string FirstAttentionWeight = "blocks.0.attention.qkv_proj.weight";

    /// <summary>The options the tensor shapes imply (the heads and dropout given: they are not in the weights).</summary>
    internal static TransformerBaselineOptions InferOptions(IReadOnlyDictionary<string, long[]> shapes, string source, int numHeads, double dropout)
    {
        long[] Shape(string name) => shapes.TryGetValue(name, out long[]? shape) && shape.Length == 2
            ? shape
            : throw new InvalidDataException($"{source}: tensor '{name}' is {(shape is null ? "missing" : $"of shape [{string.Join(", ", shape)}], not a matrix")}; it is not a Transformer baseline state dict.");
        long[] embedding = Shape("token_embedding.weight"), positions = Shape("position_embedding.weight"), ffn = Shape("blocks.0.ffn.0.weight");
        int layers = 0;
        while (shapes.ContainsKey($"blocks.{layers}.norm1.weight"))
        {
            layers++;
        }

        var options = new TransformerBaselineOptions
        {
            VocabSize = checked((int)embedding[0]),
            EmbedDim = checked((int)embedding[1]),
            MaxSeqLength = checked((int)positions[0]),
            HiddenDim = checked((int)ffn[0]),
            NumLayers = layers,
            NumHeads = numHeads,
            Dropout = dropout,
        };
        try
        {
            return options.Validate();
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            throw new InvalidDataException($"{source}: its tensors imply impossible model sizes ({ex.Message}).", ex);
        }
    }
}
