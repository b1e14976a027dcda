using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Training;

/// <summary>The next-token cross-entropy and the batch-to-tensor step that <see cref="Trainer"/> and <see cref="Evaluator"/> share.</summary>
internal static class NextTokenLoss
{
    /// <summary>The batch's inputs and targets as [batch, positions] int64 tensors on <paramref name="device"/>.</summary>
    public static (Tensor Inputs, Tensor Targets) ToTensors(LanguageModelBatch batch, Device device)
    {
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        Tensor inputs = torch.tensor(batch.Inputs, shape, dtype: ScalarType.Int64);
        Tensor targets = torch.tensor(batch.Targets, shape, dtype: ScalarType.Int64);
        return device.type == DeviceType.CPU ? (inputs, targets) : (inputs.to(device), targets.to(device));
    }

    /// <summary>Cross-entropy of logits [batch, positions, vocabulary] against targets [batch, positions], PAD targets ignored.</summary>
    /// <param name="logits">The model's output.</param>
    /// <param name="targets">The next tokens.</param>
    /// <param name="padId">The ignored target id.</param>
    /// <param name="reduction">Sum (a scalar) or none (one value per position, flattened, 0 at PAD).</param>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, int padId, nn.Reduction reduction) =>
        F.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1), ignore_index: padId, reduction: reduction);
}
