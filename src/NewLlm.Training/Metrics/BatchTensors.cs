namespace NewLlm.Training;

/// <summary>The batch-to-tensor step that <see cref="Trainer"/> and <see cref="Evaluator"/> share (the loss itself is <see cref="LanguageModel.NextTokenLoss(Tensor, Tensor, long)"/>).</summary>
internal static class BatchTensors
{
    /// <summary>The batch's inputs and targets as [batch, positions] int64 tensors on <paramref name="device"/>.</summary>
    public static (Tensor Inputs, Tensor Targets) ToTensors(LanguageModelBatch batch, Device device)
    {
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        Tensor inputs = torch.tensor(batch.Inputs, shape, dtype: ScalarType.Int64);
        Tensor targets = torch.tensor(batch.Targets, shape, dtype: ScalarType.Int64);
        return device.type == DeviceType.CPU ? (inputs, targets) : (inputs.to(device), targets.to(device));
    }
}
