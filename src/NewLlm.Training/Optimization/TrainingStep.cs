namespace NewLlm.Training;

/// <summary>
/// One optimizer step over a group of batches whose gradients are summed (gradient accumulation): next-token loss per
/// batch divided by the group's target tokens, backward, gradient-norm clipping, the learning rate set, the update.
/// </summary>
internal sealed class TrainingStep(LanguageModel model, OptimizerHelper optimizer, Device device, int padId)
{
    /// <summary>
    /// Takes the step and adds it and its batches to <paramref name="state"/>. <paramref name="maxNorm"/> 0 or infinite
    /// clips nothing; <paramref name="afterBackward"/> runs before clipping; <paramref name="batchEnd"/> gets each batch's
    /// result once the state counts it (the last one carries the gradient norm before clipping).
    /// </summary>
    /// <exception cref="TrainingDivergedException">A loss or the gradient norm is not finite.</exception>
    public void Run(LanguageModelBatch[] group, TrainerState state, int epoch, double learningRate, double maxNorm, Action afterBackward, Action<BatchResult> batchEnd)
    {
        Exception Diverged(string what, int index) => TrainingDivergedException.During(state, epoch, what, state.BatchesIntoEpoch + index);

        long groupTokens = group.Sum(b => (long)b.TargetTokenCount);
        optimizer.zero_grad();
        var losses = new double[group.Length];
        for (int i = 0; i < group.Length; i++)
        {
            using var scope = NewDisposeScope();
            (Tensor inputs, Tensor targets) = BatchTensors.ToTensors(group[i], device);
            using NewLlmLoss loss = model.NextTokenLoss(inputs, targets, padId);
            losses[i] = loss.Sum.item<float>();
            if (!double.IsFinite(losses[i]))
            {
                throw Diverged($"the loss is {losses[i].ToString(CultureInfo.InvariantCulture)}", i);
            }

            if (groupTokens > 0)
            {
                using Scalar divisor = groupTokens.ToScalar(); // held: see HeldScalars in NewLlm.Core
                loss.Sum.div(divisor).backward();
            }
        }

        afterBackward();
        double? gradientNorm = null;
        if (maxNorm > 0 && double.IsFinite(maxNorm))
        {
            gradientNorm = torch.nn.utils.clip_grad_norm_(model.parameters(), maxNorm);
            if (!double.IsFinite(gradientNorm.Value))
            {
                throw Diverged($"the gradient norm is {gradientNorm.Value.ToString(CultureInfo.InvariantCulture)}", group.Length - 1);
            }
        }

        foreach (ParamGroup paramGroup in optimizer.ParamGroups)
        {
            paramGroup.LearningRate = learningRate;
        }

        optimizer.step();
        state.GlobalStep++;
        for (int i = 0; i < group.Length; i++)
        {
            LanguageModelBatch batch = group[i];
            state.AddBatch(losses[i], batch.TargetTokenCount, batch.ByteCount);
            batchEnd(new BatchResult(epoch, state.BatchesIntoEpoch - 1, state.BatchesPerEpoch, state.GlobalStep,
                batch.TargetTokenCount == 0 ? double.NaN : losses[i] / batch.TargetTokenCount, batch.TargetTokenCount, learningRate, i == group.Length - 1 ? gradientNorm : null));
        }
    }
}
