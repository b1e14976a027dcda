namespace NewLlm;

// Reading and writing the weights: safetensors and PyTorch files (the codecs are under Weights/).
public sealed partial class NewLlmModel
{
    /// <summary>Writes the weights as float32 safetensors with the original's parameter names (written to a temporary file, then renamed).</summary>
    public override void SaveSafetensors(string path) => SafetensorsWeights.Save(this, path);

    /// <summary>Loads weights from a safetensors file (float32, or a type that converts to it) with the original's parameter names, every one with this model's shape.</summary>
    /// <param name="path">The file.</param>
    /// <param name="allowUnexpected">When false (the default), a tensor the model does not have is an error.</param>
    /// <exception cref="InvalidDataException">The file is malformed, a parameter is missing, or its shape differs.</exception>
    public override void LoadSafetensors(string path, bool allowUnexpected = false) => SafetensorsWeights.Load(this, path, allowUnexpected);

    /// <summary>Creates a model whose sizes are inferred from the tensor shapes in a safetensors file, and loads its weights; the model is in evaluation mode (call <c>train()</c> to fine-tune it).</summary>
    /// <param name="path">The file.</param>
    /// <param name="dropout">Dropout of the new model (not stored in weights).</param>
    /// <param name="allowUnexpected">Whether tensors the model does not have are ignored.</param>
    public static NewLlmModel FromSafetensors(string path, double dropout = 0.1, bool allowUnexpected = false) => SafetensorsWeights.Create(path, dropout, allowUnexpected);

    /// <summary>
    /// Writes the weights as <c>torch.save(model.state_dict(), path)</c> does (zip format, float32, the original's names;
    /// to a temporary file, then renamed), for <c>torch.load(path, weights_only=True)</c> and <c>load_state_dict(strict=True)</c>.
    /// </summary>
    /// <param name="path">The file to create or replace (conventionally <c>.pt</c> or <c>.pth</c>).</param>
    public override void SavePyTorch(string path) => PyTorchWeights.Save(this, path);

    /// <summary>
    /// Loads weights from a <c>torch.save</c> file: a flat state dict, or the original trainer's checkpoint dict (its
    /// <c>model_state_dict</c>; see <see cref="PyTorchCheckpoint"/>), float16, bfloat16 and float64 converted. Exactly the
    /// model's parameters must be there, with its shapes; they keep their identity and requires_grad flags.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is not a PyTorch checkpoint, a parameter is missing or unexpected, of another shape (the message says
    /// which sizes the file holds) or not floating-point. The model is untouched.
    /// </exception>
    public override void LoadPyTorch(string path) => PyTorchWeights.Load(this, path);

    /// <summary>Loads weights from a <c>torch.save</c> archive in a seekable stream (left open), as <see cref="LoadPyTorch(string)"/> does.</summary>
    /// <param name="stream">The archive, readable and seekable.</param>
    /// <param name="sourceName">The file's name, for messages.</param>
    /// <exception cref="InvalidDataException">As for <see cref="LoadPyTorch(string)"/>; the model is untouched.</exception>
    public override void LoadPyTorch(Stream stream, string sourceName) => PyTorchWeights.Load(this, stream, sourceName);

    /// <summary>
    /// Creates a model from a <c>torch.save</c> file (a flat state dict or the original trainer's checkpoint dict), its
    /// sizes inferred from the tensor shapes, in evaluation mode (call <c>train()</c> to fine-tune it). The dropout is not
    /// in the weights: the model gets <see cref="NewLlmOptions.Dropout"/>'s default (0.1, the original's).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="device">Where to put the parameters; the CPU when null.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a PyTorch checkpoint, or its tensors are not a New-LLM state dict (a tensor missing, unexpected, of an impossible shape or of a non-floating-point dtype).</exception>
    public static NewLlmModel FromPyTorch(string path, Device? device = null) => PyTorchWeights.Create(path, device);

    /// <summary>Infers model sizes from the shapes of a state dict with the original's parameter names.</summary>
    /// <exception cref="InvalidDataException">A tensor needed for the inference is missing or has an impossible shape.</exception>
    public static NewLlmOptions InferOptions(IReadOnlyDictionary<string, long[]> shapes, string source = "state dict") => SafetensorsWeights.InferOptions(shapes, source);
}
