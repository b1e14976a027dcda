namespace NewLlm;

// Reading and writing the weights through the library's safetensors and PyTorch codecs (Weights/).
public sealed partial class TransformerBaselineModel
{
    /// <summary>Writes the weights as float32 safetensors with the original baseline's parameter names (to a temporary file, then renamed).</summary>
    /// <param name="path">The file to create or replace.</param>
    public void SaveSafetensors(string path) =>
        SafetensorsFile.Write(path, state_dict(), new Dictionary<string, string> { ["format"] = "pt", ["newllm.baseline_options"] = Options.ToString() });

    /// <summary>Loads weights from a safetensors file with the original baseline's parameter names, every one with this model's shape (checked before any tensor is read).</summary>
    /// <param name="path">The file.</param>
    /// <param name="allowUnexpected">When false (the default), a tensor the model does not have is an error.</param>
    /// <exception cref="InvalidDataException">The file is malformed, a parameter is missing, or its shape differs; the model is untouched.</exception>
    public void LoadSafetensors(string path, bool allowUnexpected = false) =>
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
        SafetensorsWeights.WithTensors(path, shapes => InferOptions(shapes, path, numHeads, dropout), ShapesOf, allowUnexpected, (options, tensors) =>
        {
            var model = new TransformerBaselineModel(options);
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
        });

    /// <summary>Writes the weights as <c>torch.save(model.state_dict(), path)</c> does (zip format, float32, the original baseline's names; to a temporary file, then renamed).</summary>
    /// <param name="path">The file to create or replace (conventionally <c>.pt</c> or <c>.pth</c>).</param>
    public void SavePyTorch(string path) => PyTorchCheckpointFormat.WriteStateDict(state_dict(), path);

    private static TransformerBaselineOptions InferOptions(IReadOnlyDictionary<string, long[]> shapes, string source, int numHeads, double dropout)
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
        return options.Validate();
    }
}
