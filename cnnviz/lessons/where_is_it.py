"""The lesson "Where is it?" (`LESSONS["where-is-it"]`): its steps, in order. The first trains a
network with a class head and a box head on the bundled digits with boxes; the others look at that
run on the Where is it? page (`run=last`: the learner's latest run that learned boxes)."""

from __future__ import annotations

from cnnviz.lessons.steps import Lesson, Step

# The run of the first step: small and quick enough for a class to wait for. 12 epochs, not the
# Trainer's 18: the validation accuracy stops rising after the twelfth (bench/lessons.py: 0.944 at 12,
# 0.945 at 18), and 18 took 68 s on the quiet 2-core machine.
TRAIN = {"dataset": "mnist-boxes", "aug": "0", "cw": "0.8", "bw": "0.2", "epochs": "12"}

LESSON = Lesson(
    "Where is it?",
    "Classification and localization: one head says what is in the picture, another draws a box around "
    "it. IoU, precision and recall, the tutorial's 11-point average precision and COCO's stricter one, and "
    "what Grad-CAM says about the box.",
    30,
    (
        Step(
            "One head for what, one for where",
            "trainer",
            TRAIN,
            "The digits here sit anywhere on a 64x64 picture, each with its **box**: four numbers, the "
            "left, top, right and bottom edges as fractions of the picture. The network ends in **two "
            "heads** on the same feature maps: a softmax over the ten digits (*what*) reads each map's "
            "average, and four sigmoid numbers (*where*) also read a weighted sum of each map, one weight "
            "per place, because an average forgets where the digit was. Training lowers one loss: 0.8 × "
            "the class loss + 0.2 × the box loss, as the tutorial weighted them.",
            "Press **Train** and watch the curves under *4. Runs* as the epochs go by.",
            "Which curves belong to which head?",
            "The class loss and the accuracy belong to the softmax head: is the digit right? The box loss "
            "and the mean IoU belong to the box head: is the box in the right place? The loss at the top is "
            "their weighted sum, the one number training lowers.",
            focus=("cw", "bw", "epochs"),
        ),
        Step(
            "Why a box is learned with a mean squared error",
            "localize",
            {"run": "last", "order": "worst", "pic": "1"},
            "A class is one choice among ten, so its loss is a crossentropy: how sure the network was of "
            "the right one. A box is four **numbers**: there is no list to choose from, only how far each "
            "corner is from the truth. So the box head learns with the **mean squared error** of its four "
            "corners, as a line is fitted to points.",
            "Read the table of the four corners under the picture's verdict: each corner's true and predicted "
            "value, their difference and its square.",
            "What is this picture's box loss, and what does squaring do?",
            "The mean of the four squares, in bold under the table. Squaring makes every error count as "
            "positive and makes a far-off corner cost much more than a near one: a corner twice as far off "
            "costs four times as much.",
            focus=("pic", "order"),
        ),
        Step(
            "IoU on a picture",
            "localize",
            {"run": "last", "order": "best", "pic": "1"},
            "How good is a box? **Intersection over union**: the area the two boxes share (yellow) divided "
            "by the area they cover together. 1 is a perfect box, 0 a box that misses the object.",
            "Read the IoU line beside the best picture, then go through a few more pictures (Picture 2, "
            "3, ...) and compare the boxes with their IoU.",
            "Why is the shared area divided by the area covered together, not by the true box's area?",
            "Dividing by the true box alone would reward a huge predicted box that covers everything: its "
            "overlap would be the whole true box. The area covered together grows with every pixel the "
            "prediction adds outside the object, so only a box that fits closely gets near 1.",
            focus=("pic", "order"),
        ),
        Step(
            "Precision and recall as a threshold moves",
            "localize",
            {"run": "last", "class": "7", "score": "0.99"},
            "A prediction is **right** when its class is right and its IoU with the true box is at least "
            "0.5. Keep only the predictions the network is at least so sure of (its probability, the "
            "*score*): **precision** is the share of those kept that are right, **recall** the share of the "
            "class's test pictures found.",
            "Move the score threshold down from 0.99 to 0 (the arrow keys move it a step at a time) and follow "
            "the red ring on the curve and the numbers under it.",
            "What happens to precision and recall as the threshold comes down?",
            "Recall can only rise: every prediction kept can only add to the pictures found. Precision "
            "mostly falls: the predictions added are the less sure ones, and they are wrong more often. "
            "Lowering the threshold walks along the grey curve, from the left to the right.",
            focus=("score", "class"),
        ),
        Step(
            "The 11-point curve, as the tutorial drew it",
            "localize",
            {"run": "last", "class": "7", "score": "0.5"},
            "The tutorial turns the zigzag of precision against recall into one number. At each of 11 recall "
            "levels, 0, 0.1, ..., 1, it takes the **best precision at that recall or more** (the blue step "
            "line, which only goes down), then averages the 11 values: the **average precision**. Averaged "
            "over the classes, it is the mean average precision, **mAP**.",
            "Find the 11 diamonds on the blue line (past the line's end they sit at 0: a recall never reached), "
            "then read their sum under the chart. Choose another class.",
            "How is this class's 11-point AP made from the diamonds?",
            "The 11 values are added and divided by 11 (the sum and the division are written under the chart). "
            "Each diamond is the highest precision at its recall or beyond, so a dip in the grey curve that "
            "later recovers does not count against the class, while a recall it never reaches counts 0.",
            focus=("class",),
        ),
        Step(
            "COCO's stricter average",
            "localize",
            {"run": "last", "iou": "0.5"},
            "COCO computes the same average at 101 recall levels, and asks for more: its headline "
            "**AP@[.5:.95]** averages the AP over ten IoU thresholds, 0.5, 0.55, ..., 0.95. At 0.95 a box "
            "must fit almost exactly to count.",
            "Move the IoU threshold from 0.5 to 0.9 and watch the pictures' verdicts, the curves and the "
            "table's COCO AP column.",
            "Why is AP@[.5:.95] lower than AP@0.5?",
            "A higher threshold turns boxes that are roughly right into wrong ones, so the AP can only fall "
            "as the threshold rises. AP@[.5:.95] averages the AP over thresholds up to 0.95, where few boxes "
            "count: it rewards boxes that fit closely, not just ones in the right place.",
            focus=("iou",),
        ),
        Step(
            "What Grad-CAM and the box agree and disagree on",
            "localize",
            {"run": "last", "order": "worst", "cam": "1"},
            "Grad-CAM explains the **class head**: where the evidence for the predicted digit was. The box "
            "comes from the other head. Both read the same feature maps, but nothing makes them look at "
            "the same place. The white cross marks the heatmap's peak.",
            "Look at the worst pictures with their heatmaps: find a white cross on the digit where the orange "
            "box is elsewhere. Then choose *best first* above the picture worked out and look again.",
            "Does the heatmap's peak fall inside the box, and what does it mean when it does not?",
            "The line under the pictures counts the peaks inside the true box. A cross on the digit where the "
            "orange box missed it says the class head found the digit and the box head did not; a cross off "
            "the digit under a good box, the reverse. Two heads read the same features, but each learns only "
            "what its own loss asks: the box says where the object is, the heatmap where the class found it.",
            focus=("cam", "order"),
        ),
    ),
)
