"""For docs/checks/experience.py: learner@prod.example finishes Radiology Basics (every lesson,
every question right, the certificate) and enrols on IR Bites. Run with manage.py shell < this."""

from django.contrib.auth import get_user_model

from courses import services
from courses.models import Certificate, Course

user = get_user_model().objects.get(email="learner@prod.example")
course = Course.objects.get(slug="radiology-basics")
services.enrolment_create(user=user, course=course)
for module in course.modules.all():
    for lesson in module.lessons.all():
        services.lesson_complete(user=user, lesson=lesson)
    attempt = services.attempt_start(user=user, module=module)
    for q in module.questions.answerable():  # Radiology Basics has single best answers only
        services.answer_submit(attempt=attempt, question_id=q.pk, choice=q.correct)
    services.module_complete_if_done(user=user, module=module)
services.certificate_issue_if_complete(user=user, course=course)
services.enrolment_create(user=user, course=Course.objects.get(slug="ir-bites"))
print("certificate", Certificate.objects.filter(user=user).values_list("code", flat=True))
